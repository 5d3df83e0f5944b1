#include "log_stream.h"

#include "terminal.h"

namespace zoned::zonectl {

grpc::Status stream_logs(Client& client, grpc::ClientContext& cc, const std::string& container, uint64_t tail_bytes,
                         bool follow, const std::function<void(const LogRecord&)>& on_record) {
  v1::ContainerLogsRequest request;
  request.set_container(container);
  request.set_tail_bytes(tail_bytes);
  request.set_follow(follow);
  auto reader = client.stub().ContainerLogs(&cc, request);
  CriLogParser parser;
  v1::ContainerLogsChunk chunk;
  while (reader->Read(&chunk)) {
    for (const auto& record : parser.feed(chunk.data())) on_record(record);
  }
  if (auto last = parser.finish()) on_record(*last);
  return reader->Finish();
}

void print_record(const LogRecord& record) {
  std::string text = record.text;
  if (!record.partial) text += "\n";
  write_all(record.fd == 2 ? 2 : 1, text);
}

void LogCollector::add(const LogRecord& record) {
  // A partial record continues in the next record of the same stream.
  for (auto it = lines_.rbegin(); it != lines_.rend(); ++it) {
    if (it->fd != record.fd) continue;
    if (it->open) {
      it->text += record.text;
      it->open = record.partial;
      return;
    }
    break;
  }
  lines_.push_back({record.time, record.fd, record.text, record.partial});
}

nlohmann::json LogCollector::lines() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& line : lines_) {
    out.push_back({{"time", line.time}, {"stream", line.fd == 2 ? "stderr" : "stdout"}, {"log", line.text}});
  }
  return out;
}

std::string LogCollector::text(int fd) const {
  std::string out;
  for (const auto& line : lines_) {
    if (line.fd == fd) out += line.text + (line.open ? "" : "\n");
  }
  return out;
}

}  // namespace zoned::zonectl
