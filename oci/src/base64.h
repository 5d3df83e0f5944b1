// Base64 (RFC 4648, standard alphabet, padded) for HTTP Basic credentials. Internal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zoned::oci::base64 {

std::string encode(std::string_view data);
// nullopt when the input is not valid padded (or unpadded) base64; whitespace is not allowed.
std::optional<std::string> decode(std::string_view text);

}  // namespace zoned::oci::base64
