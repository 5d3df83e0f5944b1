// Reference parsing, following the grammar of distribution/reference and Docker's
// normalisation rules (docker.io default registry, library/ prefix, latest tag).
#include "zoned/oci/reference.h"

#include <algorithm>

namespace zoned::oci {
namespace {

constexpr std::string_view kDockerHub = "docker.io";
constexpr std::string_view kDefaultTag = "latest";
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;
constexpr size_t kMaxInputLength = 1024;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alpha_num(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s.substr(0, 300)) + "'";
}

Error invalid(std::string_view text, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument, "invalid image reference " + quoted(text) + ": " + std::string(why));
}

// [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*
bool valid_path_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < c.size() && !is_lower_alnum(c[i])) ++i;
    std::string_view sep = c.substr(start, i - start);
    bool dashes = std::all_of(sep.begin(), sep.end(), [](char ch) { return ch == '-'; });
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
  }
  return true;
}

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  if (!(is_alpha_num(t.front()) || t.front() == '_')) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return is_alpha_num(c) || c == '_' || c == '.' || c == '-'; });
}

// A DNS label: alphanumerics, inner dashes.
bool valid_host_label(std::string_view l) {
  if (l.empty() || !is_alpha_num(l.front()) || !is_alpha_num(l.back())) return false;
  return std::all_of(l.begin(), l.end(), [](char c) { return is_alpha_num(c) || c == '-'; });
}

bool valid_port(std::string_view p) {
  return !p.empty() && p.size() <= 5 && std::all_of(p.begin(), p.end(), is_digit);
}

// host[:port], where host is dotted DNS labels or a bracketed IPv6 address.
bool valid_registry(std::string_view r) {
  std::string_view host = r;
  if (r.starts_with('[')) {
    size_t close = r.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    std::string_view addr = r.substr(1, close - 1);
    bool hex_colons = std::all_of(addr.begin(), addr.end(), [](char c) {
      return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    });
    std::string_view rest = r.substr(close + 1);
    return hex_colons && (rest.empty() || (rest.front() == ':' && valid_port(rest.substr(1))));
  }
  if (size_t colon = r.rfind(':'); colon != std::string_view::npos) {
    if (!valid_port(r.substr(colon + 1))) return false;
    host = r.substr(0, colon);
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    if (!valid_host_label(host.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool looks_like_registry(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" || first.starts_with('[');
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

Status check_repository(std::string_view text, std::string_view repo) {
  if (repo.empty()) return invalid(text, "empty repository name");
  size_t start = 0;
  while (true) {
    size_t slash = repo.find('/', start);
    std::string_view component = repo.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!valid_path_component(component)) {
      bool upper = std::any_of(component.begin(), component.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
      if (upper) return invalid(text, "repository name must be lower-case");
      return invalid(text, "invalid repository path component " + quoted(component) +
                               " (allowed: lower-case letters and digits, separated by '.', '_', '__' or dashes)");
    }
    if (slash == std::string_view::npos) return ok_status();
    start = slash + 1;
  }
}

// Splits "name[:tag][@digest]" into its parts without validating them.
struct RawParts {
  std::string_view name;
  std::string_view tag;
  std::string_view digest;
  bool has_tag = false;
  bool has_digest = false;
};

RawParts split_raw(std::string_view text) {
  RawParts p;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    p.digest = rest.substr(at + 1);
    p.has_digest = true;
    rest = rest.substr(0, at);
  }
  size_t colon = rest.rfind(':');
  size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    p.tag = rest.substr(colon + 1);
    p.has_tag = true;
    rest = rest.substr(0, colon);
  }
  p.name = rest;
  return p;
}

Status split_name(std::string_view text, std::string_view name, Reference& out) {
  size_t slash = name.find('/');
  std::string_view first = name.substr(0, slash);
  if (slash != std::string_view::npos && looks_like_registry(first)) {
    if (!valid_registry(first)) return invalid(text, "invalid registry host " + quoted(first));
    out.registry = first == "index.docker.io" ? std::string(kDockerHub) : std::string(first);
    out.repository = std::string(name.substr(slash + 1));
  } else {
    out.registry = std::string(kDockerHub);
    out.repository = std::string(name);
  }
  if (out.registry == kDockerHub && !out.repository.empty() && out.repository.find('/') == std::string::npos) {
    if (is_hex64(out.repository)) return invalid(text, "a 64-character hex string is an image ID, not a name");
    out.repository.insert(0, "library/");
  }
  return ok_status();
}

}  // namespace

Result<Reference> Reference::parse(std::string_view text) {
  if (text.empty()) return invalid(text, "empty");
  if (text.size() > kMaxInputLength) return invalid(text, "longer than " + std::to_string(kMaxInputLength) + " bytes");
  RawParts raw = split_raw(text);
  if (raw.name.empty()) return invalid(text, "empty repository name");
  Reference ref;
  ZONED_TRY(split_name(text, raw.name, ref));
  ZONED_TRY(check_repository(text, ref.repository));
  if (ref.name().size() > kMaxNameLength) {
    return invalid(text, "name longer than " + std::to_string(kMaxNameLength) + " characters");
  }
  if (raw.has_tag) {
    if (!valid_tag(raw.tag)) {
      return invalid(text, "invalid tag " + quoted(raw.tag) + " (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
    }
    ref.tag = std::string(raw.tag);
  }
  if (raw.has_digest) {
    auto digest = Digest::parse(raw.digest);
    if (!digest.ok()) return std::move(digest).take_error().wrap("invalid image reference " + quoted(text));
    ref.digest = *digest;
  } else if (!raw.has_tag) {
    ref.tag = std::string(kDefaultTag);
  }
  return ref;
}

std::string Reference::name() const {
  return registry + "/" + repository;
}

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

std::string Reference::tag_ref() const {
  return tag.empty() ? std::string() : name() + ":" + tag;
}

std::string Reference::digest_ref(const Digest& d) const {
  return name() + "@" + d.str();
}

}  // namespace zoned::oci
