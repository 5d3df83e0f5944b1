#include "zoned/oci/www_authenticate.h"

#include <optional>

namespace zoned::oci {
namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out;
  for (char c : s) out += lower(c);
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  std::vector<AuthChallenge> parse() {
    std::vector<AuthChallenge> out;
    while (true) {
      skip_separators();
      if (at_end()) break;
      std::string_view scheme = token();
      if (scheme.empty()) break;  // garbage: stop
      AuthChallenge c{lowered(scheme), {}, {}};
      bool ok = read_params(c);
      out.push_back(std::move(c));
      if (!ok) break;
    }
    return out;
  }

 private:
  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return at_end() ? '\0' : in_[pos_]; }
  void skip_spaces() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  void skip_separators() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++pos_;
  }
  std::string_view token() {
    size_t start = pos_;
    while (!at_end() && is_tchar(peek())) ++pos_;
    return in_.substr(start, pos_ - start);
  }

  // "..." with backslash escapes; nullopt if unterminated.
  std::optional<std::string> quoted_string() {
    ++pos_;  // opening quote
    std::string out;
    while (!at_end()) {
      char c = in_[pos_++];
      if (c == '"') return out;
      if (c == '\\' && !at_end()) c = in_[pos_++];
      out += c;
    }
    return std::nullopt;
  }

  // After the scheme: auth-params (k=v, ...) or a token68, up to the next challenge.
  // Returns false when the input is malformed and parsing should stop.
  bool read_params(AuthChallenge& c) {
    while (true) {
      skip_separators();
      if (at_end()) return true;
      size_t mark = pos_;
      std::string_view name = token();
      skip_spaces();
      if (name.empty()) return false;
      if (peek() != '=') {  // the next challenge's scheme
        pos_ = mark;
        return true;
      }
      ++pos_;
      skip_spaces();
      if (peek() == '=' || peek() == ',' || at_end()) {  // token68 such as "abc=="
        while (peek() == '=') ++pos_;
        c.token68 = std::string(in_.substr(mark, pos_ - mark));
        continue;
      }
      std::optional<std::string> value;
      if (peek() == '"') {
        value = quoted_string();
      } else {
        value = std::string(token());
      }
      if (!value) return false;
      c.params[lowered(name)] = std::move(*value);
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header_value) {
  return Parser(header_value).parse();
}

}  // namespace zoned::oci
