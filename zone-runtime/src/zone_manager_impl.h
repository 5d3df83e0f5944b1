// ZoneManagerImpl: the one implementation of ZoneManager (zone_manager.h). Internal header.
//
// Locks, in the order they may be taken:
//   Zone::op_mu  serialises the long operations on one zone (create, stop, container calls);
//                never held while waiting for another zone.
//   mu_          guards every record and map below; held only for short, non-blocking work
//                (never across an IDM call, a hypervisor call or a file write of logs).
// IDM callbacks (events, stream data, closed) run on each zone's IDM I/O thread and take mu_
// only. The monitor thread reconciles records with the hypervisor's domains.
#pragma once

#include <condition_variable>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "clock.h"
#include "console_reader.h"
#include "container_log.h"
#include "zone_store.h"
#include "zoned/idm/client.h"
#include "zoned/image_store/image_store.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::zone_runtime {

// An exec in progress: where its output goes and how it ended.
struct ExecState {
  std::string exec_id;
  std::string zone_id;
  uint32_t stream_id = 0;
  ExecOutputSink sink;
  std::mutex mu;
  std::condition_variable cv;
  bool exited = false;
  bool zone_gone = false;
  int32_t exit_code = 0;
  uint32_t signal = 0;
};

struct AttachState;  // zone_attach.cc
struct PortState;    // zone_port_forward.cc

struct Zone {
  std::mutex op_mu;
  StoredZone stored;                                                  // mu_
  std::shared_ptr<idm::Client> client;                                // mu_
  std::map<std::string, std::shared_ptr<ContainerLog>> logs;          // mu_, by container id
  std::map<uint32_t, std::string> stream_to_container;                // mu_
  std::map<uint32_t, std::shared_ptr<ExecState>> stream_to_exec;      // mu_
  std::unique_ptr<ConsoleReader> console;                             // op_mu
  std::multimap<std::string, std::shared_ptr<AttachState>> attached;  // mu_, by container id
  std::map<uint32_t, std::shared_ptr<PortState>> stream_to_port;      // mu_
  int64_t last_reconnect_ns = 0;                                      // monitor thread only
};

class ZoneManagerImpl final : public ZoneManager {
 public:
  ZoneManagerImpl(const ZoneManagerOptions& options, Hypervisor& hypervisor, image_store::ImageStore& images,
                  DeviceAttacher attach_device);
  ~ZoneManagerImpl() override;
  Status init();

  Result<ZoneRecord> create_zone(const ZoneSpec& spec) override;
  Status stop_zone(const std::string& zone, std::chrono::seconds grace) override;
  Status remove_zone(const std::string& zone) override;
  Result<ZoneRecord> get_zone(const std::string& zone) override;
  std::vector<ZoneRecord> list_zones() override;
  Result<std::string> console(const std::string& zone, size_t max_bytes) override;
  Result<ZoneStats> stats(const std::string& zone) override;

  Result<ContainerRecord> create_container(const std::string& zone, const ContainerSpec& spec) override;
  Status start_container(const std::string& container) override;
  Status stop_container(const std::string& container, std::chrono::seconds grace) override;
  Status remove_container(const std::string& container) override;
  Result<ContainerRecord> get_container(const std::string& container) override;
  std::vector<ContainerRecord> list_containers(const std::string& zone_filter) override;
  Result<ContainerRecord> wait_container(const std::string& container, std::chrono::milliseconds timeout) override;
  Status update_container_resources(const std::string& container, const std::string& resources_json) override;
  Status reopen_container_log(const std::string& container) override;
  Result<ExecResult> exec_sync(const ExecRequest& request, std::chrono::milliseconds timeout,
                               size_t max_output_bytes) override;
  Result<std::unique_ptr<ExecSession>> exec(const ExecRequest& request, ExecOutputSink sink) override;
  bool image_in_use(const std::string& image_id) override;
  Result<std::unique_ptr<AttachSession>> attach(const std::string& container, const AttachOptions& options,
                                                ExecOutputSink sink) override;
  Result<std::unique_ptr<PortStream>> dial(const std::string& zone, uint16_t port) override;

  // --- used by the exec session (zone_exec.cc)
  Result<std::shared_ptr<idm::Client>> client_of(const std::string& zone_id);
  void forget_exec(const std::string& zone_id, uint32_t stream_id);
  std::chrono::milliseconds request_timeout() const { return options_.request_timeout; }
  // --- attach and port forwarding (zone_attach.cc, zone_port_forward.cc)
  void detach(const std::string& zone_id, const std::shared_ptr<AttachState>& state);
  void forget_port(const std::string& zone_id, uint32_t stream_id);
  // IDM callbacks for port streams: true if `stream_id` is a port connection
  bool on_port_stream(Zone& zone, const idm::v1::StreamData& data);
  void on_port_event(Zone& zone, const idm::v1::Event& event);
  // the attached sinks of a container (mu_ held)
  static std::vector<std::shared_ptr<AttachState>> attached_to(Zone& zone, const std::string& container_id);
  static void deliver(const std::vector<std::shared_ptr<AttachState>>& to, int fd, std::string_view data);

 private:
  // lookups (mu_ held)
  std::shared_ptr<Zone> find_zone_locked(const std::string& key, std::string* error);
  Result<std::shared_ptr<Zone>> find_zone(const std::string& key);
  // the zone and the container record of a container id or unique prefix
  Result<std::pair<std::shared_ptr<Zone>, std::string>> find_container(const std::string& key);
  static ContainerRecord* container_in(Zone& zone, const std::string& id);
  // FAILED_PRECONDITION unless the container is in one of `allowed` (named `wanted` in the
  // message); NOT_FOUND if it is gone. Takes mu_.
  Status check_container_state(Zone& zone, const std::string& key, const std::string& id,
                               std::initializer_list<ContainerState> allowed, const char* wanted);
  Status persist_locked(const Zone& zone);
  void persist(const std::shared_ptr<Zone>& zone);

  // zone lifecycle (zone_lifecycle.cc)
  Result<ZoneDisk> attach_image_disk(Zone& zone, const image_store::ImageRecord& image,
                                     std::vector<std::unique_ptr<AttachedDevice>>& held);
  std::string next_vdev(const Zone& zone) const;
  DomainSpec domain_spec(const ZoneRecord& zone) const;
  Status connect_agent(const std::shared_ptr<Zone>& zone, uint32_t domid, std::chrono::milliseconds timeout);
  // IDM ConfigureNetwork (create_zone, when the spec carries a network config).
  Status configure_network(const std::shared_ptr<Zone>& zone, const std::string& config_json);
  idm::Client::Handlers handlers_for(const std::string& zone_id);
  void start_console(Zone& zone, uint32_t domid);
  std::string console_path_of(const std::string& zone_id) const;
  // the zone's domain is gone (or going): record why, end its containers and execs
  void zone_ended(const std::shared_ptr<Zone>& zone, ZoneState state, const std::string& reason,
                  const std::string& message);
  void teardown_domain(const std::shared_ptr<Zone>& zone);

  // IDM callbacks (zone_events.cc)
  void on_event(const std::string& zone_id, const idm::v1::Event& event);
  void on_stream(const std::string& zone_id, const idm::v1::StreamData& data);
  void on_closed(const std::string& zone_id, const Error& error);
  void apply_exit(Zone& zone, const idm::v1::ContainerExited& exited);

  // recovery and monitoring (zone_recovery.cc)
  void recover();
  void monitor_loop();
  void reconcile();
  Status reattach(const std::shared_ptr<Zone>& zone);
  void sync_containers(const std::shared_ptr<Zone>& zone);
  void wake_monitor();

  ZoneManagerOptions options_;
  Hypervisor& hypervisor_;
  image_store::ImageStore& images_;
  DeviceAttacher attach_device_;
  ZoneStore store_;

  std::mutex mu_;
  std::condition_variable state_cv_;  // container and zone state changes (mu_)
  std::map<std::string, std::shared_ptr<Zone>> zones_;
  std::vector<std::shared_ptr<idm::Client>> closed_clients_;  // closed by the monitor thread

  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;
  bool monitor_wake_ = false;
  bool stopping_ = false;
  std::thread monitor_;
};

std::string random_hex(size_t bytes);

}  // namespace zoned::zone_runtime
