#include "fakes/fake_cni_plugin.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace zoned::testing {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

FakeCniPlugins::FakeCniPlugins(std::string dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_ + "/calls");
}

void FakeCniPlugins::add(const std::string& name, const std::string& body, const std::string& versions) const {
  const std::string path = dir_ + "/" + name;
  std::ofstream out(path);
  out << "#!/bin/sh\n"
      << "if [ \"$CNI_COMMAND\" = VERSION ]; then\n"
      << "  echo '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":" << versions << "}'\n"
      << "  exit 0\n"
      << "fi\n"
      << "calls=" << dir_ << "/calls\n"
      << "n=$(ls $calls | wc -l)\n"
      << "n=$(printf %04d $((n / 3)))\n"
      << "echo \"" << name << " $CNI_COMMAND\" > $calls/$n.what\n"
      << "env | grep ^CNI_ | sort > $calls/$n.env\n"
      << "cat > $calls/$n.stdin\n"
      << body << "\n";
  out.close();
  ::chmod(path.c_str(), 0755);
}

std::string FakeCniPlugins::prints_on_add(const std::string& result) {
  return "if [ \"$CNI_COMMAND\" = ADD ]; then cat <<'FAKE_EOF'\n" + result + "\nFAKE_EOF\nfi\nexit 0";
}

std::vector<FakeCall> FakeCniPlugins::calls() const {
  std::vector<std::string> ids;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/calls")) {
    if (entry.path().extension() == ".what") ids.push_back(entry.path().stem().string());
  }
  std::sort(ids.begin(), ids.end());
  std::vector<FakeCall> out;
  for (const auto& id : ids) {
    const std::string base = dir_ + "/calls/" + id;
    std::string what = read_all(base + ".what");
    FakeCall call;
    auto space = what.find(' ');
    call.plugin = what.substr(0, space);
    call.command = what.substr(space + 1);
    while (!call.command.empty() && call.command.back() == '\n') call.command.pop_back();
    call.env = read_all(base + ".env");
    call.stdin = read_all(base + ".stdin");
    out.push_back(std::move(call));
  }
  return out;
}

std::string fake_result(const std::string& cidr, const std::string& gateway, const std::string& netns) {
  return R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"0a:58:0a:58:00:05","sandbox":")" + netns +
         R"("}],"ips":[{"address":")" + cidr + R"(","gateway":")" + gateway +
         R"(","interface":0}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}})";
}

}  // namespace zoned::testing
