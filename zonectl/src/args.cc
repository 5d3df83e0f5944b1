#include "args.h"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace zoned::zonectl {
namespace {

const std::vector<OptionSpec>& common_options() {
  static const std::vector<OptionSpec> options = {
      {"help", 'h', "", "Show this help"},
      {"json", 0, "", "Print machine-readable JSON"},
      {"socket", 0, "PATH", "The admin socket (default /run/zoned/admin.sock)"},
  };
  return options;
}

const OptionSpec* find_long(const CommandSpec& spec, const std::string& name) {
  for (const auto& o : spec.options) {
    if (o.name == name) return &o;
  }
  for (const auto& o : common_options()) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

const OptionSpec* find_short(const CommandSpec& spec, char c) {
  for (const auto& o : spec.options) {
    if (o.short_name == c) return &o;
  }
  for (const auto& o : common_options()) {
    if (o.short_name == c) return &o;
  }
  return nullptr;
}

class Parser {
 public:
  Parser(const CommandSpec& spec, const std::vector<std::string>& args) : spec_(spec), args_(args) {}

  std::variant<ParsedArgs, UsageError> run() {
    bool options_done = false;
    for (i_ = 0; i_ < args_.size(); ++i_) {
      const std::string& arg = args_[i_];
      if (!options_done && arg == "--") {
        options_done = true;
      } else if (!options_done && arg.size() > 2 && arg.rfind("--", 0) == 0) {
        if (auto error = long_option(arg)) return *error;
      } else if (!options_done && arg.size() > 1 && arg[0] == '-') {
        if (auto error = short_options(arg)) return *error;
      } else {
        out_.positional.push_back(arg);
        if (!spec_.options_anywhere) options_done = true;
      }
    }
    out_.help = out_.flag("help");
    if (out_.help) return out_;
    if (out_.positional.size() < spec_.min_positional)
      return UsageError{"missing arguments: usage: zonectl " + spec_.name + " " + spec_.usage};
    if (out_.positional.size() > spec_.max_positional) {
      return UsageError{"unexpected argument '" + out_.positional[spec_.max_positional] + "'"};
    }
    return out_;
  }

 private:
  std::optional<UsageError> store(const OptionSpec& option, std::optional<std::string> value,
                                  const std::string& shown) {
    if (option.value_name.empty()) {
      if (value) return UsageError{"option " + shown + " takes no value"};
      out_.values[option.name].push_back("");
      return std::nullopt;
    }
    if (!value) {
      if (i_ + 1 >= args_.size()) return UsageError{"option " + shown + " needs a value (" + option.value_name + ")"};
      value = args_[++i_];
    }
    auto& slot = out_.values[option.name];
    if (!slot.empty() && !option.repeatable) slot.clear();  // the last one wins
    slot.push_back(*value);
    return std::nullopt;
  }

  std::optional<UsageError> long_option(const std::string& arg) {
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* option = find_long(spec_, name);
    if (option == nullptr) return UsageError{"unknown option --" + name};
    return store(*option, value, "--" + name);
  }

  std::optional<UsageError> short_options(const std::string& arg) {
    for (size_t k = 1; k < arg.size(); ++k) {
      const OptionSpec* option = find_short(spec_, arg[k]);
      std::string shown = std::string("-") + arg[k];
      if (option == nullptr) return UsageError{"unknown option " + shown};
      if (!option->value_name.empty()) {
        std::optional<std::string> value;
        if (k + 1 < arg.size()) value = arg.substr(k + 1);
        return store(*option, value, shown);
      }
      if (auto error = store(*option, std::nullopt, shown)) return error;
    }
    return std::nullopt;
  }

  const CommandSpec& spec_;
  const std::vector<std::string>& args_;
  size_t i_ = 0;
  ParsedArgs out_;
};

std::string option_label(const OptionSpec& o) {
  std::string label = o.short_name != 0 ? std::string("-") + o.short_name + ", " : "    ";
  label += "--" + o.name;
  if (!o.value_name.empty()) label += " " + o.value_name;
  return label;
}

}  // namespace

std::optional<std::string> ParsedArgs::value(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& ParsedArgs::all(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = values.find(name);
  return it == values.end() ? none : it->second;
}

std::variant<ParsedArgs, UsageError> parse_args(const CommandSpec& spec, const std::vector<std::string>& args) {
  return Parser(spec, args).run();
}

std::string command_help(const CommandSpec& spec) {
  std::ostringstream out;
  out << "Usage: zonectl " << spec.name << " " << spec.usage << "\n\n" << spec.summary << "\n";
  if (!spec.details.empty()) out << "\n" << spec.details << "\n";
  std::vector<OptionSpec> all = spec.options;
  all.insert(all.end(), common_options().begin(), common_options().end());
  size_t width = 0;
  for (const auto& o : all) width = std::max(width, option_label(o).size());
  out << "\nOptions:\n";
  for (const auto& o : all) {
    std::string label = option_label(o);
    out << "  " << label << std::string(width - label.size() + 2, ' ') << o.help << "\n";
  }
  return out.str();
}

std::variant<uint64_t, UsageError> parse_number(const std::string& option, const std::string& text, uint64_t min,
                                                uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return UsageError{"option " + option + " needs a whole number from " + std::to_string(min) + " to " +
                      std::to_string(max) + ", got '" + text + "'"};
  }
  return value;
}

}  // namespace zoned::zonectl
