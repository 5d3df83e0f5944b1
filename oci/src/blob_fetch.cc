#include "blob_fetch.h"

namespace zoned::oci {

Status restart_sink(BlobSink& sink, BlobProgress& progress) {
  if (progress.written == 0) return ok_status();
  if (!sink.restart) {
    progress.sink_failed = true;
    return Error(ErrorCode::kUnavailable, "the transfer was interrupted and the sink cannot restart");
  }
  Status s = sink.restart();
  if (!s.ok()) {
    progress.sink_failed = true;
    return s;
  }
  progress.written = 0;
  return ok_status();
}

Status fetch_blob_at(RegistryRequester& requester, const RegistryClientOptions& options, const Endpoint& endpoint,
                     const Reference& ref, const Descriptor& blob, const Credentials& creds, BlobSink& sink,
                     BlobProgress& progress) {
  RegistryGet get;
  get.path = "/v2/" + ref.repository + "/blobs/" + blob.digest.str();
  get.what = "blob " + ref.repository + "@" + blob.digest.str();
  get.not_found = "blob unknown";
  get.time_limited = false;
  get.max_attempts = endpoint.is_mirror ? 1 : options.max_attempts;
  std::string context = endpoint.label + ": " + get.what;
  get.stream = [&](const char* data, size_t size) -> Status {
    if (size > static_cast<uint64_t>(blob.size - progress.written)) {
      return Error(ErrorCode::kInvalidArgument,
                   context + ": blob is longer than its descriptor size of " + std::to_string(blob.size) + " bytes");
    }
    Status s = sink.write(data, size);
    if (!s.ok()) {
      progress.sink_failed = true;
      return s;
    }
    progress.written += static_cast<int64_t>(size);
    return ok_status();
  };
  get.check = [&](const http::Response&) -> Status {
    if (progress.written == blob.size) return ok_status();
    return Error(ErrorCode::kUnavailable, context + ": transfer ended after " + std::to_string(progress.written) +
                                              " of " + std::to_string(blob.size) + " bytes");
  };
  get.before_retry = [&] { return restart_sink(sink, progress); };
  auto response = requester.get(endpoint, ref.repository, creds, get);
  if (!response.ok()) return std::move(response).take_error();
  return ok_status();
}

}  // namespace zoned::oci
