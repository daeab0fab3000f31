#include "agent/kernel_identity.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/hex.h"
#include "policy/reader.h"

namespace vg::agent {

namespace {
constexpr uint32_t kNtGnuBuildId = 3;

uint32_t load_u32(const uint8_t* p) {
  uint32_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

size_t align4(size_t n) {
  return (n + 3) & ~size_t{3};
}
}  // namespace

std::string hex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

Result<std::vector<uint8_t>, std::string> build_id_from_notes(const std::vector<uint8_t>& notes) {
  size_t pos = 0;
  while (notes.size() - pos >= 12) {
    const uint32_t name_size = load_u32(&notes[pos]);
    const uint32_t desc_size = load_u32(&notes[pos + 4]);
    const uint32_t type = load_u32(&notes[pos + 8]);
    pos += 12;
    const size_t name_span = align4(name_size);
    const size_t desc_span = align4(desc_size);
    if (name_span > notes.size() - pos || desc_span > notes.size() - pos - name_span) {
      return Err(std::string("note runs past the end of the notes"));
    }
    const bool is_gnu = name_size == 4 && std::memcmp(&notes[pos], "GNU", 4) == 0;
    if (is_gnu && type == kNtGnuBuildId) {
      if (desc_size == 0 || desc_size > 32) {
        return Err(std::string("build id note of ") + std::to_string(desc_size) + " bytes");
      }
      const auto* desc = &notes[pos + name_span];
      return std::vector<uint8_t>(desc, desc + desc_size);
    }
    pos += name_span + desc_span;
  }
  return Err(std::string("no GNU build id note"));
}

Result<uint64_t, std::string> kallsyms_address(const std::string& text, const std::string& symbol) {
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    // Format: "ffffffff81000000 T _text" optionally followed by "\t[module]".
    const std::string_view line(text.data() + line_start, line_end - line_start);
    const size_t first_space = line.find(' ');
    if (first_space != std::string_view::npos && first_space <= 16 && line.size() > first_space + 3) {
      std::string_view name = line.substr(first_space + 3);
      const size_t tab = name.find('\t');
      if (tab != std::string_view::npos) name = name.substr(0, tab);
      if (name == symbol) {
        uint64_t address = 0;
        if (first_space > 0 && !parse_hex_u64(line.substr(0, first_space), address)) {
          return Err("malformed kallsyms address for " + symbol);
        }
        if (address == 0) {
          return Err("kallsyms shows " + symbol + " at 0: addresses are hidden (kptr_restrict); run as root");
        }
        return address;
      }
    }
    line_start = line_end + 1;
  }
  return Err("symbol " + symbol + " not in kallsyms");
}

Result<std::vector<uint8_t>, std::string> read_file(const std::string& path, size_t max_bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) {
    return Err(path + ": " + std::strerror(errno));
  }
  std::vector<uint8_t> bytes;
  uint8_t chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file.get())) > 0) {
    if (bytes.size() + got > max_bytes) {
      return Err(path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  if (std::ferror(file.get())) {
    return Err(path + ": read error");
  }
  return bytes;
}

Result<PolicyChoice, std::string> find_policy(const std::string& path, const std::vector<uint8_t>& build_id) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Err(path + ": " + std::strerror(errno));
  }
  std::vector<std::string> candidates;
  if (S_ISDIR(info.st_mode)) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
    if (!dir) {
      return Err(path + ": " + std::strerror(errno));
    }
    while (const dirent* entry = ::readdir(dir.get())) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      candidates.push_back(path + "/" + name);
    }
    std::sort(candidates.begin(), candidates.end());
  } else {
    candidates.push_back(path);
  }
  std::string reasons;
  for (const auto& candidate : candidates) {
    auto bytes = read_file(candidate, policy::kMaxFileSize);
    if (!bytes) {
      reasons += "\n  " + bytes.error();
      continue;
    }
    auto view = policy::PolicyView::parse(ByteView{bytes->data(), bytes->size()});
    if (!view) {
      reasons += "\n  " + candidate + ": not a valid policy: " + policy::describe(view.error());
      continue;
    }
    const auto& header = view->header();
    if (header.build_id_size != build_id.size() ||
        std::memcmp(header.build_id, build_id.data(), build_id.size()) != 0) {
      reasons += "\n  " + candidate + ": build id " + hex(header.build_id, header.build_id_size) +
                 " is not the running kernel's";
      continue;
    }
    return PolicyChoice{candidate, std::move(bytes).value()};
  }
  return Err("no policy for the running kernel (build id " + hex(build_id.data(), build_id.size()) + ") in " +
             path + reasons);
}

}  // namespace vg::agent
