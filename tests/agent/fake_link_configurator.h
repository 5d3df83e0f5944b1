// FakeLinkConfigurator: records what the agent asks of rtnetlink, as text, instead of touching
// this host's interfaces. Interfaces exist when listed in `present`; `fail_on` makes the call
// whose record starts with it fail.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "zoned/agent/pod_network.h"

namespace zoned::testing {

class FakeLinkConfigurator final : public agent::LinkConfigurator {
 public:
  std::map<std::string, int> present{{"lo", 1}, {"eth0", 2}};
  std::vector<std::string> calls;
  std::string fail_on;

  Result<int> link_index(const std::string& ifname) override {
    auto it = present.find(ifname);
    if (it == present.end()) return Error(ErrorCode::kNotFound, "no interface " + ifname);
    return it->second;
  }
  Status set_link_down(int index) override { return record("down " + std::to_string(index)); }
  Status set_link_up(int index) override { return record("up " + std::to_string(index)); }
  Status set_mac(int index, const agent::MacAddress& mac) override {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return record("mac " + std::to_string(index) + " " + text);
  }
  Status set_mtu(int index, std::uint32_t mtu) override {
    return record("mtu " + std::to_string(index) + " " + std::to_string(mtu));
  }
  Status add_address(int index, int family, const std::string& address, int prefix_length) override {
    return record("addr " + std::to_string(index) + " v" + std::to_string(family) + " " + address + "/" +
                  std::to_string(prefix_length));
  }
  Status add_route(int index, int family, const std::string& destination, const std::string& gateway) override {
    return record("route " + std::to_string(index) + " v" + std::to_string(family) + " " + destination +
                  (gateway.empty() ? "" : " via " + gateway));
  }

 private:
  Status record(std::string call) {
    calls.push_back(call);
    if (!fail_on.empty() && call.rfind(fail_on, 0) == 0) return Error(ErrorCode::kInternal, "fake failure: " + call);
    return ok_status();
  }
};

}  // namespace zoned::testing
