#include "zoned/agent/vchan_source.h"

extern "C" {
#include <xenstore.h>
}

#include <cerrno>
#include <cstdlib>
#include <string>

#include "zoned/common/log.h"
#include "zoned/idm/vchan.h"

namespace zoned::agent {

namespace {

constexpr const char* kRequestKey = "data/zoned/idm-request";
constexpr const char* kReadyKey = "data/zoned/idm-ready";
constexpr const char* kVchanPath = "data/zoned/idm";
constexpr const char* kWatchToken = "zoned-idm";
constexpr std::size_t kMaxGenerationBytes = 256;

class VchanSource final : public ChannelSource {
 public:
  explicit VchanSource(xs_handle* xs) : xs_(xs) {}
  ~VchanSource() override { ::xs_close(xs_); }
  VchanSource(const VchanSource&) = delete;
  VchanSource& operator=(const VchanSource&) = delete;

  int poll_fd() const override { return ::xs_fileno(xs_); }

  Result<std::optional<NewChannel>> on_readable(const std::function<void()>& drop_current) override {
    // Drain every pending watch event; they all mean "look at the key again".
    bool fired = false;
    for (;;) {
      char** event = ::xs_check_watch(xs_);
      if (!event) break;
      std::free(event);
      fired = true;
    }
    if (!fired) return std::optional<NewChannel>();
    unsigned int length = 0;
    char* raw = static_cast<char*>(::xs_read(xs_, XBT_NULL, kRequestKey, &length));
    if (!raw) return std::optional<NewChannel>();  // not written yet (the watch fires once when set)
    std::string generation(raw, length);
    std::free(raw);
    if (generation.empty() || generation.size() > kMaxGenerationBytes || generation == last_generation_) {
      return std::optional<NewChannel>();
    }
    last_generation_ = generation;
    log::info("the daemon asked for an IDM channel", {{"generation", generation}});
    drop_current();  // the old server must go before a new one takes the same xenstore path
    auto server = idm::VchanServer::listen(0, kVchanPath, idm::kVchanMaxRingBytes);
    if (!server.ok()) return std::move(server).take_error().wrap("creating the vchan server");
    if (!::xs_write(xs_, XBT_NULL, kReadyKey, generation.data(), static_cast<unsigned int>(generation.size()))) {
      return sys_error(std::string("writing ") + kReadyKey);
    }
    idm::VchanServer* raw_server = server->get();
    NewChannel channel;
    channel.channel = std::move(*server);
    channel.peer_connected = [raw_server] { return raw_server->client_connected(); };
    return std::optional<NewChannel>(std::move(channel));
  }

 private:
  xs_handle* xs_;
  std::string last_generation_;
};

}  // namespace

Result<std::unique_ptr<ChannelSource>> make_vchan_source() {
  xs_handle* xs = ::xs_open(0);
  if (!xs) return sys_error("opening xenstore");
  if (!::xs_watch(xs, kRequestKey, kWatchToken)) {
    const int saved = errno;
    ::xs_close(xs);
    return sys_error(std::string("watching ") + kRequestKey, saved);
  }
  return std::unique_ptr<ChannelSource>(new VchanSource(xs));
}

}  // namespace zoned::agent
