// Layers built to escape the root, write through symlinks or exhaust resources.
#include <sys/stat.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "apply_layers.h"
#include "fs_inspect.h"
#include "layer_applier.h"
#include "layer_builder.h"
#include "support/temp_dir.h"

namespace zoned::image_store {
namespace {

using namespace zoned::testing;

bool mentions(const Status& status, const std::string& text) {
  return !status.ok() && status.error().message().find(text) != std::string::npos;
}

// A root two levels below a scratch directory, so "../../x" would land inside the scratch.
struct Sandbox {
  TempDir scratch;
  std::string root = scratch.path() + "/a/root";
  TempDir outside;  // symlinks in layers point here; it must stay untouched
  Sandbox() {
    ::mkdir((scratch.path() + "/a").c_str(), 0755);
    ::mkdir(root.c_str(), 0755);
    outside.write("passwd", "root:x:0:0\n");
  }
  bool outside_untouched() const {
    return names_in(outside.path()) == std::set<std::string>{"passwd"} &&
           read_text(outside.file("passwd")) == "root:x:0:0\n" && lstat_of(outside.file("passwd"))->st_nlink == 1;
  }
};

TEST_CASE("names escaping the root with .. are rejected") {
  Sandbox box;
  auto name = GENERATE(std::string("../../x"), std::string("a/../../x"), std::string("./../x"));
  auto status = apply_layers(box.root, {make_layer({file(name, "pwned")})});
  CHECK(mentions(status, "entry '" + name + "': path escapes the root with '..'"));
  CHECK(names_in(box.scratch.path()) == std::set<std::string>{"a"});
  CHECK(names_in(box.root).empty());
}

TEST_CASE(".. that stays inside the root is resolved") {
  Sandbox box;
  REQUIRE(apply_layers(box.root, {make_layer({file("a/b/../c", "x")})}).ok());
  CHECK(read_text(box.root + "/a/c") == "x");
}

TEST_CASE("absolute names are made relative to the root") {
  Sandbox box;
  std::string absolute = box.outside.file("abs-file");  // an absolute path that exists outside
  REQUIRE(apply_layers(box.root, {make_layer({file(absolute, "inside"), file("/etc/x", "y")})}).ok());
  CHECK(read_text(box.root + absolute) == "inside");
  CHECK(read_text(box.root + "/etc/x") == "y");
  CHECK(box.outside_untouched());
}

TEST_CASE("nothing is written through a symlink") {
  Sandbox box;
  auto link_to_outside = symlink("link", box.outside.path());
  auto relative_escape = symlink("up", "../../../../../../..");
  SECTION("a file below a symlink in the same layer") {
    auto status = apply_layers(box.root, {make_layer({link_to_outside, file("link/passwd", "pwned")})});
    CHECK(mentions(status, "entry 'link/passwd': 'link' is a symlink: refusing to write through it"));
  }
  SECTION("a file below a symlink of a lower layer") {
    auto status = apply_layers(box.root, {make_layer({relative_escape}), make_layer({file("up/tmp/x", "pwned")})});
    CHECK(mentions(status, "'up' is a symlink"));
  }
  SECTION("a directory, FIFO or hard link below a symlink") {
    auto item = GENERATE(directory("link/sub"), fifo("link/fifo"), hardlink("link/h", "f"));
    auto status = apply_layers(box.root, {make_layer({file("f", "x"), link_to_outside, item})});
    CHECK(mentions(status, "'link' is a symlink"));
  }
  SECTION("a whiteout below a symlink") {
    auto status = apply_layers(box.root, {make_layer({link_to_outside}), make_layer({whiteout("link/passwd")})});
    CHECK(mentions(status, "'link' is a symlink"));
  }
  SECTION("an opaque marker below a symlink") {
    auto status = apply_layers(box.root, {make_layer({link_to_outside}), make_layer({opaque("link")})});
    CHECK(mentions(status, "'link' is a symlink"));
  }
  SECTION("a hard link whose target goes through a symlink") {
    auto status = apply_layers(box.root, {make_layer({link_to_outside, hardlink("h", "link/passwd")})});
    CHECK(mentions(status, "hard link target 'link/passwd': 'link' is a symlink"));
  }
  CHECK(box.outside_untouched());
}

TEST_CASE("a non-directory on the way is an error, and a FIFO there does not block") {
  Sandbox box;
  auto item = GENERATE(fifo("p"), file("p", "x"));
  auto status = apply_layers(box.root, {make_layer({item, file("p/x", "y")})});
  CHECK(mentions(status, "entry 'p/x': 'p' is not a directory"));
}

TEST_CASE("a symlink from below is replaced, not followed") {
  Sandbox box;
  auto lower = make_layer({symlink("f", box.outside.file("passwd")), symlink("d", box.outside.path())});
  auto upper = make_layer({file("f", "new"), directory("d"), file("d/x", "y"), hardlink("h", "f")});
  REQUIRE(apply_layers(box.root, {lower, upper}).ok());
  CHECK(read_text(box.root + "/f") == "new");
  CHECK(S_ISDIR(lstat_of(box.root + "/d")->st_mode));
  CHECK(box.outside_untouched());
}

TEST_CASE("a hard link to a symlink links the symlink itself") {
  Sandbox box;
  REQUIRE(apply_layers(box.root, {make_layer({symlink("l", box.outside.file("passwd")), hardlink("l2", "l")})}).ok());
  CHECK(S_ISLNK(lstat_of(box.root + "/l2")->st_mode));
  CHECK(box.outside_untouched());
}

TEST_CASE("hard links must point to something earlier in the layers, inside the root") {
  Sandbox box;
  SECTION("escaping") {
    auto status = apply_layers(box.root, {make_layer({hardlink("h", "../../x")})});
    CHECK(mentions(status, "entry 'h': hard link target '../../x': path escapes the root"));
  }
  SECTION("absolute, which is relative to the root and missing there") {
    auto status = apply_layers(box.root, {make_layer({hardlink("h", box.outside.file("passwd"))})});
    CHECK(mentions(status, "does not exist (it must come earlier in the layers)"));
  }
  SECTION("not yet extracted") {
    auto status = apply_layers(box.root, {make_layer({hardlink("h", "later"), file("later", "x")})});
    CHECK(mentions(status, "entry 'h': hard link target 'later' does not exist"));
  }
  SECTION("a directory") {
    auto status = apply_layers(box.root, {make_layer({directory("d"), hardlink("h", "d")})});
    CHECK(mentions(status, "hard link target 'd' is a directory"));
  }
  SECTION("itself") {
    auto status = apply_layers(box.root, {make_layer({file("h", "x"), hardlink("h", "h")})});
    CHECK(mentions(status, "hard link to itself"));
  }
  CHECK(box.outside_untouched());
}

TEST_CASE("decompression bombs are stopped by max_unpacked_bytes") {
  Sandbox box;
  ApplyLimits limits{1 << 20, 1000};
  SECTION("one big, highly compressible file") {
    auto bomb = make_layer({file("zeros", std::string(8 << 20, '\0'))}, Compression::kZstd);
    REQUIRE(bomb.blob.size() < 4096);
    auto status = apply_layers(box.root, {bomb}, limits);
    CHECK(mentions(status,
                   "entry 'zeros': size of 8388608 bytes would take the image past 1048576 bytes "
                   "(max_unpacked_bytes); decompression bomb?"));
    CHECK(status.error().code() == ErrorCode::kResourceExhausted);
  }
  SECTION("several layers that add up") {
    auto part = make_layer({file("part", std::string(600 << 10, 'x'))});
    auto status = apply_layers(box.root, {part, part}, limits);
    CHECK(mentions(status, "max_unpacked_bytes"));
    CHECK(status.error().code() == ErrorCode::kResourceExhausted);
  }
  SECTION("data after the end of the archive") {
    auto padded = layer_from_tar(make_tar({file("f", "x")}) + std::string(4 << 20, '\0'), Compression::kGzip);
    auto status = apply_layers(box.root, {padded}, limits);
    CHECK(mentions(status, "the image unpacks to more than 1048576 bytes (max_unpacked_bytes); decompression bomb?"));
  }
}

TEST_CASE("too many entries are stopped by max_entries") {
  Sandbox box;
  std::vector<TarItem> items;
  for (int i = 0; i < 50; ++i) items.push_back(file("f" + std::to_string(i), ""));
  auto status = apply_layers(box.root, {make_layer(items)}, ApplyLimits{1 << 30, 10});
  CHECK(mentions(status, "the image has more than 10 entries (max_entries); decompression bomb?"));
  CHECK(status.error().code() == ErrorCode::kResourceExhausted);
}

TEST_CASE("overlong names are rejected") {
  Sandbox box;
  SECTION("component") {
    auto status = apply_layers(box.root, {make_layer({file(std::string(300, 'n'), "x")})});
    CHECK(mentions(status, "path component longer than 255 bytes"));
  }
  SECTION("path") {
    std::string path;
    while (path.size() < 5000) path += std::string(100, 'd') + "/";
    auto status = apply_layers(box.root, {make_layer({file(path + "f", "x")})});
    CHECK(mentions(status, "path is longer than 4096 bytes"));
  }
  SECTION("depth") {
    std::string path;
    for (int i = 0; i < 300; ++i) path += "d/";
    auto status = apply_layers(box.root, {make_layer({file(path + "f", "x")})});
    CHECK(mentions(status, "path deeper than 256 components"));
  }
}

TEST_CASE("malformed whiteouts are rejected") {
  Sandbox box;
  auto name = GENERATE(std::string(".wh."), std::string("d/.wh.."), std::string(".wh..."));
  auto status = apply_layers(box.root, {make_layer({file(name, "")})});
  CHECK(mentions(status, "malformed whiteout"));
}

TEST_CASE("control characters in names are escaped in errors") {
  Sandbox box;
  auto status = apply_layers(box.root, {make_layer({file("../\n\x1b[31mred", "")})});
  CHECK(mentions(status, "entry '../\\x0a\\x1b[31mred'"));
}

}  // namespace
}  // namespace zoned::image_store
