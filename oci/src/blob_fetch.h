// Streaming one blob from one endpoint into a BlobSink, enforcing the descriptor's size.
// Internal.
#pragma once

#include <cstdint>

#include "registry_request.h"
#include "zoned/oci/registry_client.h"

namespace zoned::oci {

// What has happened to the sink, across endpoints.
struct BlobProgress {
  int64_t written = 0;       // bytes the sink holds
  bool sink_failed = false;  // the sink returned an error: stop, whatever the endpoint
};

// Calls sink.restart when the sink holds bytes, so the next transfer starts afresh.
Status restart_sink(BlobSink& sink, BlobProgress& progress);

Status fetch_blob_at(RegistryRequester& requester, const RegistryClientOptions& options, const Endpoint& endpoint,
                     const Reference& ref, const Descriptor& blob, const Credentials& creds, BlobSink& sink,
                     BlobProgress& progress);

}  // namespace zoned::oci
