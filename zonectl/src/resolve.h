// Naming things on the command line: `stop`, `rm` take a zone (id, id prefix or name) or a
// container (id or id prefix) and find out which one was meant.
#pragma once

#include <optional>
#include <string>

#include "command.h"

namespace zoned::zonectl {

struct Target {
  bool is_zone = false;
  v1::Zone zone;            // when is_zone
  v1::Container container;  // otherwise
};

// Nothing, with the message printed (exit 1), when neither or both match.
std::optional<Target> resolve_target(const Context& ctx, const std::string& name);

// Just a zone / just a container; the message is printed when it fails.
std::optional<v1::Zone> get_zone(const Context& ctx, const std::string& name);
std::optional<v1::Container> get_container(const Context& ctx, const std::string& name);

}  // namespace zoned::zonectl
