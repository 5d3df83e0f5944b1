// ConfigureNetwork: the pod's eth0 and /etc files (pod_network.h), once per zone.
#include "agent_impl.h"
#include "zoned/agent/pod_network.h"
#include "zoned/common/log.h"
#include "zoned/netplug/zone_network_config.h"

namespace zoned::agent {

void AgentImpl::configure_network(const ReplyTo& to, const idm::v1::ConfigureNetwork& request) {
  const std::string& text = request.config_json();
  if (!network_config_json_.empty()) {
    if (text == network_config_json_) {
      reply_ack(to);  // a retry of the same request
    } else {
      reply_error(to, Error(ErrorCode::kFailedPrecondition, "the pod network is already configured differently"));
    }
    return;
  }
  auto config = netplug::zone_network_config_from_json(text);
  if (!config.ok()) {
    reply_error(to, std::move(config).take_error().wrap("ConfigureNetwork"));
    return;
  }
  if (!hooks_.links) hooks_.links = make_rtnetlink_configurator();
  auto configured = configure_pod_network(*config, *hooks_.links, pod_dir());
  if (!configured.ok()) {
    log::error("cannot configure the pod network", {{"error", configured.error().describe()}});
    reply_error(to, configured.error());
    return;
  }
  network_config_json_ = text;
  reply_ack(to);
}

}  // namespace zoned::agent
