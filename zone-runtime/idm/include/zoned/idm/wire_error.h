// Converting between zoned::Error and the IDM Error message (a failed request's Response).
#pragma once

#include "idm.pb.h"
#include "zoned/common/error.h"

namespace zoned::idm {

// Codes without a wire equivalent (permission denied, unavailable, deadline, cancelled) travel
// as CODE_INTERNAL.
v1::Error::Code error_code_to_wire(ErrorCode code);
// Unknown or unspecified wire codes become kInternal.
ErrorCode error_code_from_wire(v1::Error::Code code);

// A peer's Error response as an Error, its code mapped and its message prefixed with
// `who` ("zone agent" gives "zone agent: container c2 not found").
Error error_from_wire(const v1::Error& error, std::string_view who);

// An Error (with its errno text) as a wire message that passes validate(): bytes other than
// printable ASCII become spaces and the message is cut to kMaxErrorMessageBytes.
v1::Error error_to_wire(const Error& error);

}  // namespace zoned::idm
