#include "sample_messages.h"

namespace zoned::idm::testing {
namespace {

Envelope request(std::uint64_t id) {
  Envelope e;
  e.set_id(id);
  e.mutable_request();
  return e;
}

Envelope response(std::uint64_t id) {
  Envelope e;
  e.set_id(id);
  e.mutable_response();
  return e;
}

v1::ContainerExited exited() {
  v1::ContainerExited m;
  m.set_container_id("c1");
  m.set_exit_code(0);
  m.set_signal(9);
  m.set_started_at_unix_ns(1'700'000'000'000'000'000);
  m.set_finished_at_unix_ns(1'700'000'001'000'000'000);
  m.set_oom_killed(true);
  return m;
}

}  // namespace

Envelope exec_start_envelope() {
  Envelope e = request(7);
  auto* m = e.mutable_request()->mutable_exec_start();
  m->set_container_id("c1");
  m->set_exec_id("exec-1");
  m->add_args("/bin/sh");
  m->add_args("-c");
  m->add_args("echo hi");
  m->add_env("PATH=/usr/bin:/bin");
  m->add_env("TERM=xterm");
  m->set_tty(true);
  m->set_stream_id(3);
  m->set_stdin(true);
  m->set_cwd("/srv/app");
  m->set_user("1000:1000");
  return e;
}

Envelope stream_envelope(std::string data) {
  Envelope e;
  auto* s = e.mutable_stream();
  s->set_stream_id(3);
  s->set_fd(v1::STREAM_FD_STDOUT);
  s->set_data(std::move(data));
  return e;
}

std::vector<Sample> sample_envelopes() {
  std::vector<Sample> out;
  auto add = [&out](std::string name, Envelope e) { out.push_back({std::move(name), std::move(e)}); };

  Envelope hello = request(1);
  auto* h = hello.mutable_request()->mutable_hello();
  h->set_protocol_version(1);
  h->set_agent_version("zoned-agent 0.1.0");
  h->add_capabilities("exec-tty");
  h->add_capabilities("stats");
  add("hello", hello);

  Envelope hello_reply = response(1);
  hello_reply.mutable_response()->mutable_hello()->set_protocol_version(1);
  hello_reply.mutable_response()->mutable_hello()->add_capabilities("stream-eof");
  add("hello reply", hello_reply);

  Envelope ping = request(2);
  ping.mutable_request()->mutable_ping()->set_nonce(0xdeadbeefcafef00d);
  add("ping", ping);
  Envelope pong = response(2);
  pong.mutable_response()->mutable_pong()->set_nonce(0xdeadbeefcafef00d);
  add("pong", pong);

  Envelope create = request(3);
  auto* c = create.mutable_request()->mutable_create_container();
  c->set_container_id("c1");
  c->set_oci_config_json(R"({"ociVersion":"1.0.2","process":{"args":["/pause"]}})");
  c->set_rootfs_device("xvdb");
  c->set_stream_id(5);
  c->set_stdin(true);
  c->set_username("www-data");
  c->set_groupname("www-data");
  add("create container", create);

  Envelope started_event;
  auto* started = started_event.mutable_event()->mutable_container_started();
  started->set_container_id("c1");
  started->set_pid(17);
  started->set_started_at_unix_ns(1'700'000'000'000'000'000);
  add("container started event", started_event);

  Envelope start = request(4);
  start.mutable_request()->mutable_start_container()->set_container_id("c1");
  add("start container", start);

  Envelope signal = request(5);
  signal.mutable_request()->mutable_signal_container()->set_container_id("c1");
  signal.mutable_request()->mutable_signal_container()->set_signal(15);
  add("signal container", signal);

  Envelope wait = request(6);
  wait.mutable_request()->mutable_wait_container()->set_container_id("c1");
  add("wait container", wait);

  Envelope wait_reply = response(6);
  *wait_reply.mutable_response()->mutable_container_exited() = exited();
  add("wait container reply", wait_reply);

  Envelope del = request(11);
  del.mutable_request()->mutable_delete_container()->set_container_id("c1");
  add("delete container", del);

  Envelope list = request(12);
  list.mutable_request()->mutable_list_containers();
  add("list containers", list);

  Envelope list_reply = response(12);
  auto* states = list_reply.mutable_response()->mutable_container_list();
  auto* running = states->add_containers();
  running->set_container_id("c2");
  running->set_status(v1::ContainerState::STATUS_RUNNING);
  running->set_pid(17);
  running->set_stream_id(5);
  running->set_created_at_unix_ns(1'699'999'999'000'000'000);
  running->set_started_at_unix_ns(1'700'000'000'000'000'000);
  auto* gone = states->add_containers();
  gone->set_container_id("c1");
  gone->set_status(v1::ContainerState::STATUS_EXITED);
  *gone->mutable_exit() = exited();
  gone->mutable_exit()->set_exit_code(1);
  gone->mutable_exit()->set_signal(0);
  auto* created = states->add_containers();
  created->set_container_id("c3");
  created->set_status(v1::ContainerState::STATUS_CREATED);
  add("container list", list_reply);

  add("exec start", exec_start_envelope());

  Envelope exec_started = response(7);
  exec_started.mutable_response()->mutable_exec_started()->set_exec_id("exec-1");
  exec_started.mutable_response()->mutable_exec_started()->set_pid(42);
  add("exec started", exec_started);

  Envelope signal_exec = request(13);
  signal_exec.mutable_request()->mutable_signal_exec()->set_exec_id("exec-1");
  signal_exec.mutable_request()->mutable_signal_exec()->set_signal(2);
  add("signal exec", signal_exec);

  Envelope resize = request(14);
  resize.mutable_request()->mutable_resize_tty()->set_stream_id(3);
  resize.mutable_request()->mutable_resize_tty()->set_rows(50);
  resize.mutable_request()->mutable_resize_tty()->set_cols(132);
  add("resize tty", resize);

  Envelope stats = request(8);
  stats.mutable_request()->mutable_stats();
  add("stats", stats);

  Envelope stats_reply = response(8);
  auto* entry = stats_reply.mutable_response()->mutable_stats()->add_containers();
  entry->set_container_id("c1");
  entry->set_cpu_usage_ns(123'456'789);
  entry->set_memory_usage_bytes(64ull << 20);
  auto* zone = stats_reply.mutable_response()->mutable_stats()->mutable_zone();
  zone->set_memory_total_bytes(512ull << 20);
  zone->set_memory_available_bytes(300ull << 20);
  zone->set_cpu_usage_ns(9'876'543'210);
  zone->set_timestamp_unix_ns(1'700'000'002'000'000'000);
  add("stats reply", stats_reply);

  Envelope shutdown = request(9);
  shutdown.mutable_request()->mutable_shutdown();
  add("shutdown", shutdown);

  Envelope configure_network = request(11);
  configure_network.mutable_request()->mutable_configure_network()->set_config_json(
      R"({"mac":"0a:58:0a:58:00:05","mtu":1500,"addresses":[{"family":4,"address":"10.88.0.5","prefix_length":16}]})");
  add("configure network", configure_network);

  Envelope update = request(12);
  update.mutable_request()->mutable_update_container()->set_container_id("c1");
  update.mutable_request()->mutable_update_container()->set_resources_json(
      R"({"cpu":{"quota":50000,"period":100000}})");
  add("update container", update);

  Envelope pf_open = request(15);
  pf_open.mutable_request()->mutable_port_forward_open()->set_stream_id(101);
  pf_open.mutable_request()->mutable_port_forward_open()->set_port(8080);
  pf_open.mutable_request()->mutable_port_forward_open()->set_window(256 * 1024);
  add("port forward open", pf_open);

  Envelope pf_window = request(16);
  pf_window.mutable_request()->mutable_port_forward_window()->set_stream_id(101);
  pf_window.mutable_request()->mutable_port_forward_window()->set_bytes(65536);
  add("port forward window", pf_window);

  Envelope pf_close = request(17);
  pf_close.mutable_request()->mutable_port_forward_close()->set_stream_id(101);
  add("port forward close", pf_close);

  Envelope pf_window_event;
  pf_window_event.mutable_event()->mutable_port_forward_window()->set_stream_id(101);
  pf_window_event.mutable_event()->mutable_port_forward_window()->set_bytes(4096);
  add("port forward window event", pf_window_event);

  Envelope pf_closed_event;
  pf_closed_event.mutable_event()->mutable_port_forward_closed()->set_stream_id(101);
  pf_closed_event.mutable_event()->mutable_port_forward_closed()->set_message("connection reset by peer");
  add("port forward closed event", pf_closed_event);

  Envelope ack = response(9);
  ack.mutable_response()->mutable_ack();
  add("ack", ack);

  Envelope error = response(10);
  error.mutable_response()->mutable_error()->set_code(v1::Error::CODE_NOT_FOUND);
  error.mutable_response()->mutable_error()->set_message("container c2 not found");
  add("error", error);

  Envelope exited_event;
  *exited_event.mutable_event()->mutable_container_exited() = exited();
  add("container exited event", exited_event);

  Envelope exec_exited;
  exec_exited.mutable_event()->mutable_exec_exited()->set_exec_id("exec-1");
  exec_exited.mutable_event()->mutable_exec_exited()->set_exit_code(3);
  add("exec exited event", exec_exited);
  Envelope exec_killed;
  exec_killed.mutable_event()->mutable_exec_exited()->set_exec_id("exec-2");
  exec_killed.mutable_event()->mutable_exec_exited()->set_signal(9);
  add("exec killed event", exec_killed);

  add("stream data", stream_envelope("hello\n"));
  Envelope stdin_eof;
  stdin_eof.mutable_stream()->set_stream_id(3);
  stdin_eof.mutable_stream()->set_fd(v1::STREAM_FD_STDIN);
  stdin_eof.mutable_stream()->set_eof(true);
  add("stream eof", stdin_eof);
  return out;
}

}  // namespace zoned::idm::testing
