// Fetching and verifying manifests from one endpoint, following an index to the platform's
// manifest. Internal.
#pragma once

#include "registry_request.h"
#include "zoned/oci/registry_client.h"

namespace zoned::oci {

Result<ResolvedManifest> resolve_at(RegistryRequester& requester, const RegistryClientOptions& options,
                                    const Endpoint& endpoint, const Reference& ref, const Credentials& creds,
                                    const Platform& platform);

}  // namespace zoned::oci
