// LinkConfigurator over rtnetlink: one NETLINK_ROUTE socket per request, each message acked.
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "zoned/agent/pod_network.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {
namespace {

// A netlink request being built: header, fixed part, attributes (each 4-byte aligned).
class NlRequest {
 public:
  NlRequest(std::uint16_t type, std::uint16_t flags, const void* body, std::size_t body_size) {
    append_aligned(nullptr, sizeof(nlmsghdr));
    append_aligned(body, body_size);
    auto* h = header();
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    h->nlmsg_seq = 1;
  }
  void attr(std::uint16_t type, const void* data, std::size_t size) {
    rtattr a{};
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    a.rta_type = type;
    append_aligned(&a, sizeof a, false);
    append_aligned(data, size);
  }
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  const std::vector<char>& bytes() {
    header()->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
    return buf_;
  }

 private:
  void append_aligned(const void* data, std::size_t size, bool pad = true) {
    const std::size_t at = buf_.size();
    buf_.resize(at + (pad ? NLMSG_ALIGN(size) : size), 0);
    if (data != nullptr && size > 0) std::memcpy(buf_.data() + at, data, size);
  }
  std::vector<char> buf_;
};

Status transact(NlRequest& request, bool exist_ok, const char* what) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return Error(ErrorCode::kInternal, "netlink socket", errno);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const auto& out = request.bytes();
  if (::sendto(fd.get(), out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
    return Error(ErrorCode::kInternal, std::string(what) + ": netlink send", errno);
  }
  char reply[8192];
  while (true) {
    const ssize_t n = ::recv(fd.get(), reply, sizeof reply, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(ErrorCode::kInternal, std::string(what) + ": netlink receive", errno);
    // The kernel's answer: nlmsghdr + nlmsgerr (error 0 is the ack). Parsed by hand: the
    // NLMSG_* macros use C casts.
    const auto size = static_cast<std::size_t>(n);
    std::size_t at = 0;
    while (at + sizeof(nlmsghdr) <= size) {
      nlmsghdr h{};
      std::memcpy(&h, reply + at, sizeof h);
      if (h.nlmsg_len < sizeof(nlmsghdr) || at + h.nlmsg_len > size) break;
      if (h.nlmsg_type == NLMSG_ERROR) {
        const std::size_t body = at + NLMSG_ALIGN(sizeof(nlmsghdr));
        if (body + sizeof(nlmsgerr) > size) return Error(ErrorCode::kInternal, "short netlink error");
        nlmsgerr e{};
        std::memcpy(&e, reply + body, sizeof e);
        const int err = -e.error;
        if (err == 0 || (exist_ok && err == EEXIST)) return ok_status();
        return Error(ErrorCode::kInternal, what, err);
      }
      at += NLMSG_ALIGN(h.nlmsg_len);
    }
    if (n == 0) return Error(ErrorCode::kInternal, std::string(what) + ": netlink closed");
  }
}

Status change_link(int index, unsigned flags, unsigned change, const char* what) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = index;
  info.ifi_flags = flags;
  info.ifi_change = change;
  NlRequest request(RTM_NEWLINK, 0, &info, sizeof info);
  return transact(request, false, what);
}

struct Parsed {
  unsigned char bytes[16] = {};
  std::size_t size = 0;
};

Result<Parsed> parse_ip(int family, const std::string& text) {
  Parsed p;
  const int af = family == 6 ? AF_INET6 : AF_INET;
  if (::inet_pton(af, text.c_str(), p.bytes) != 1) {
    return Error(ErrorCode::kInvalidArgument, "'" + text + "' is not an IPv" + std::to_string(family) + " address");
  }
  p.size = family == 6 ? 16 : 4;
  return p;
}

class RtnetlinkConfigurator final : public LinkConfigurator {
 public:
  Result<int> link_index(const std::string& ifname) override {
    const unsigned index = ::if_nametoindex(ifname.c_str());
    if (index == 0) return Error(ErrorCode::kNotFound, "no interface " + ifname, errno);
    return static_cast<int>(index);
  }
  Status set_link_down(int index) override { return change_link(index, 0, IFF_UP, "setting the link down"); }
  Status set_link_up(int index) override { return change_link(index, IFF_UP, IFF_UP, "setting the link up"); }
  Status set_mac(int index, const MacAddress& mac) override {
    ifinfomsg info{};
    info.ifi_family = AF_UNSPEC;
    info.ifi_index = index;
    NlRequest request(RTM_NEWLINK, 0, &info, sizeof info);
    request.attr(IFLA_ADDRESS, mac.data(), mac.size());
    return transact(request, false, "setting the MAC address");
  }
  Status set_mtu(int index, std::uint32_t mtu) override {
    ifinfomsg info{};
    info.ifi_family = AF_UNSPEC;
    info.ifi_index = index;
    NlRequest request(RTM_NEWLINK, 0, &info, sizeof info);
    request.attr(IFLA_MTU, &mtu, sizeof mtu);
    return transact(request, false, "setting the MTU");
  }
  Status add_address(int index, int family, const std::string& address, int prefix_length) override {
    auto ip = parse_ip(family, address);
    if (!ip.ok()) return std::move(ip).take_error();
    if (prefix_length < 0 || prefix_length > static_cast<int>(ip->size * 8)) {
      return Error(ErrorCode::kInvalidArgument, "bad prefix length");
    }
    ifaddrmsg msg{};
    msg.ifa_family = static_cast<unsigned char>(family == 6 ? AF_INET6 : AF_INET);
    msg.ifa_prefixlen = static_cast<unsigned char>(prefix_length);
    msg.ifa_index = static_cast<unsigned>(index);
    NlRequest request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &msg, sizeof msg);
    request.attr(IFA_LOCAL, ip->bytes, ip->size);
    request.attr(IFA_ADDRESS, ip->bytes, ip->size);
    return transact(request, true, "adding an address");
  }
  Status add_route(int index, int family, const std::string& destination, const std::string& gateway) override {
    const auto slash = destination.find('/');
    if (slash == std::string::npos) return Error(ErrorCode::kInvalidArgument, "route without a prefix length");
    auto dst = parse_ip(family, destination.substr(0, slash));
    if (!dst.ok()) return std::move(dst).take_error();
    int prefix = -1;
    try {
      prefix = std::stoi(destination.substr(slash + 1));
    } catch (const std::exception&) {
      prefix = -1;
    }
    if (prefix < 0 || prefix > static_cast<int>(dst->size * 8)) return Error(ErrorCode::kInvalidArgument, "bad prefix");
    rtmsg msg{};
    msg.rtm_family = static_cast<unsigned char>(family == 6 ? AF_INET6 : AF_INET);
    msg.rtm_dst_len = static_cast<unsigned char>(prefix);
    msg.rtm_table = RT_TABLE_MAIN;
    msg.rtm_protocol = RTPROT_BOOT;
    msg.rtm_scope = static_cast<unsigned char>(gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
    msg.rtm_type = RTN_UNICAST;
    NlRequest request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &msg, sizeof msg);
    if (prefix > 0) request.attr(RTA_DST, dst->bytes, dst->size);
    if (!gateway.empty()) {
      auto gw = parse_ip(family, gateway);
      if (!gw.ok()) return std::move(gw).take_error();
      request.attr(RTA_GATEWAY, gw->bytes, gw->size);
    }
    const auto oif = static_cast<std::uint32_t>(index);
    request.attr(RTA_OIF, &oif, sizeof oif);
    return transact(request, true, "adding a route");
  }
};

}  // namespace

std::unique_ptr<LinkConfigurator> make_rtnetlink_configurator() {
  return std::make_unique<RtnetlinkConfigurator>();
}

}  // namespace zoned::agent
