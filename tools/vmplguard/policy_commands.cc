#include "policy_commands.h"

#include <map>

#include "file_io.h"
#include "json_writer.h"
#include "names.h"
#include "policy/reader.h"
#include "text_table.h"

namespace vg::cli {
namespace {

using policy::PolicyView;

// A parsed policy and the aligned bytes it borrows.
struct LoadedPolicy {
  std::vector<uint64_t> storage;
  uint64_t size = 0;
};

// Reads and fully validates a policy file; on failure prints the one-line
// error and returns nothing.
bool load(const std::string& path, LoadedPolicy& loaded, PolicyView& view, std::ostream& err) {
  auto storage = read_file_aligned(path, policy::kMaxFileSize, loaded.size);
  if (!storage.ok()) {
    err << "vmplguard: " << path << ": " << storage.error() << "\n";
    return false;
  }
  loaded.storage = std::move(storage).value();
  const ByteView bytes{reinterpret_cast<const uint8_t*>(loaded.storage.data()), loaded.size};
  auto parsed = PolicyView::parse(bytes);
  if (!parsed.ok()) {
    err << "vmplguard: " << path << ": not a valid policy: " << policy::describe(parsed.error()) << "\n";
    return false;
  }
  view = parsed.value();
  return true;
}

std::string digest_hex(const PolicyView& view) {
  char text[65];
  to_hex(view.digest(), text);
  return text;
}

std::vector<uint8_t> build_id_of(const PolicyView& view) {
  const policy::FileHeader& header = view.header();
  return {header.build_id, header.build_id + header.build_id_size};
}

std::string release_of(const PolicyView& view) {
  const char* release = view.header().kernel_release;
  size_t length = 0;
  while (length < sizeof(view.header().kernel_release) && release[length] != '\0') ++length;
  return {release, length};
}

std::string flags_text(uint32_t flags) {
  std::string text;
  auto add = [&](uint32_t bit, const char* name) {
    if ((flags & bit) == 0) return;
    if (!text.empty()) text += ",";
    text += name;
  };
  add(policy::kFlagModulesAllowed, "modules_allowed");
  add(policy::kFlagModulesUnrestricted, "modules_unrestricted");
  add(policy::kFlagBpfJitAllowed, "bpf_jit_allowed");
  add(policy::kFlagKprobesAllowed, "kprobes_allowed");
  return text.empty() ? "none" : text;
}

std::map<std::string, uint64_t> site_kind_counts(const PolicyView& view) {
  std::map<std::string, uint64_t> counts;
  for (const policy::Site& site : view.sites()) {
    for (uint16_t bit : site_kind_bits()) {
      if ((site.kinds & bit) != 0) ++counts[site_kind_id(bit)];
    }
  }
  return counts;
}

std::map<std::string, uint64_t> privileged_counts(const PolicyView& view, bool unintended) {
  std::map<std::string, uint64_t> counts;
  for (const policy::PrivilegedInsn& insn : view.privileged()) {
    if (((insn.flags & policy::kPrivUnintended) != 0) != unintended) continue;
    ++counts[privileged_kind_id(static_cast<policy::PrivilegedKind>(insn.kind))];
  }
  return counts;
}

uint64_t trusted_functions(const PolicyView& view) {
  uint64_t trusted = 0;
  for (const policy::Function& function : view.functions()) {
    trusted += (function.flags & policy::kFunctionTrusted) != 0 ? 1 : 0;
  }
  return trusted;
}

void show_text(const std::string& path, const PolicyView& view, uint64_t size, std::ostream& out) {
  const policy::FileHeader& header = view.header();
  out << "policy " << path << "\n";
  out << "  format       " << header.format_major << "." << header.format_minor << "\n";
  out << "  size         " << size << " bytes\n";
  out << "  sha256       " << digest_hex(view) << "\n";
  out << "  serial       " << header.serial << "\n";
  out << "  flags        " << flags_text(header.flags) << "\n";
  out << "  kernel       " << release_of(view) << "\n";
  out << "  build id     " << hex_bytes(build_id_of(view)) << "\n";
  out << "  _text        " << hex(header.link_text_va) << "\n\n";

  TextTable regions({"region", "start", "size", "boot", "final"},
                    {TextTable::Align::kLeft, TextTable::Align::kLeft, TextTable::Align::kRight,
                     TextTable::Align::kLeft, TextTable::Align::kLeft});
  for (const policy::Region& region : view.regions()) {
    regions.add_row({region_kind_id(static_cast<policy::RegionKind>(region.kind)),
                     "_text+" + hex(region.start), human_size(region.size), perms_string(region.perms_boot),
                     perms_string(region.perms_final)});
  }
  out << regions.render(2) << "\n";

  out << "  sites        " << view.sites().count << " (" << view.patterns().count << " patterns)\n";
  for (const auto& [kind, n] : site_kind_counts(view)) out << "    " << kind << " " << n << "\n";
  out << "  privileged   " << view.privileged().count << "\n";
  for (const auto& [kind, n] : privileged_counts(view, false)) out << "    " << kind << " " << n << "\n";
  for (const auto& [kind, n] : privileged_counts(view, true))
    out << "    " << kind << " " << n << " (unintended)\n";
  out << "  functions    " << view.functions().count << " (" << trusted_functions(view) << " trusted)\n";
  out << "  objects      " << view.objects().count << "\n";
  for (const policy::CriticalObject& object : view.objects()) {
    out << "    " << view.string(object.name) << " _text+" << hex(object.offset) << " " << object.size
        << " B " << protection_id(static_cast<policy::Protection>(object.protection)) << "\n";
  }
  out << "  modules      " << view.module_hashes().count << "\n";
}

void write_counts(JsonWriter& w, std::string_view key, const std::map<std::string, uint64_t>& counts) {
  w.key(key);
  w.begin_object();
  for (const auto& [name, n] : counts) w.field(name, n);
  w.end_object();
}

void show_json(const std::string& path, const PolicyView& view, uint64_t size, std::ostream& out) {
  const policy::FileHeader& header = view.header();
  std::string text;
  JsonWriter w(text);
  w.begin_object();
  w.field("path", path);
  w.field("format", std::to_string(header.format_major) + "." + std::to_string(header.format_minor));
  w.field("size", size);
  w.field("sha256", digest_hex(view));
  w.field("serial", header.serial);
  w.field("flags", flags_text(header.flags));
  w.field("kernel_release", release_of(view));
  w.field("build_id", hex_bytes(build_id_of(view)));
  w.field("text_va", hex(header.link_text_va));
  w.key("regions");
  w.begin_array();
  for (const policy::Region& region : view.regions()) {
    w.begin_object();
    w.field("kind", region_kind_id(static_cast<policy::RegionKind>(region.kind)));
    w.field("start_offset", hex(region.start));
    w.field("size", region.size);
    w.field("perms_boot", perms_string(region.perms_boot));
    w.field("perms_final", perms_string(region.perms_final));
    w.end_object();
  }
  w.end_array();
  w.field("sites", view.sites().count);
  w.field("patterns", view.patterns().count);
  write_counts(w, "sites_by_kind", site_kind_counts(view));
  w.field("privileged", view.privileged().count);
  write_counts(w, "privileged_aligned", privileged_counts(view, false));
  write_counts(w, "privileged_unintended", privileged_counts(view, true));
  w.field("functions", view.functions().count);
  w.field("trusted_functions", trusted_functions(view));
  w.key("objects");
  w.begin_array();
  for (const policy::CriticalObject& object : view.objects()) {
    w.begin_object();
    w.field("name", view.string(object.name));
    w.field("offset", hex(object.offset));
    w.field("size", static_cast<uint64_t>(object.size));
    w.field("protection", protection_id(static_cast<policy::Protection>(object.protection)));
    w.field("region", region_kind_id(static_cast<policy::RegionKind>(object.region)));
    w.end_object();
  }
  w.end_array();
  w.field("module_hashes", view.module_hashes().count);
  w.end_object();
  out << text;
}

}  // namespace

int policy_show(const PolicyShowOptions& options, std::ostream& out, std::ostream& err) {
  LoadedPolicy loaded;
  PolicyView view;
  if (!load(options.file, loaded, view, err)) return kExitUsage;
  if (options.format == ReportFormat::kJson) {
    show_json(options.file, view, loaded.size, out);
  } else {
    show_text(options.file, view, loaded.size, out);
  }
  return kExitOk;
}

int policy_verify(const PolicyVerifyOptions& options, const Backend& backend, std::ostream& out,
                  std::ostream& err) {
  LoadedPolicy loaded;
  PolicyView view;
  if (!load(options.file, loaded, view, err)) return kExitUsage;
  const std::string digest = digest_hex(view);
  if (options.vmlinux.empty()) {
    out << options.file << ": ok: valid policy, sha256 " << digest << ", kernel " << release_of(view) << "\n";
    return kExitOk;
  }
  auto kernel = backend.identify(options.vmlinux);
  if (!kernel.ok()) {
    err << "vmplguard: " << kernel.error().to_string() << "\n";
    return kExitUsage;
  }
  std::vector<std::string> mismatches;
  const std::vector<uint8_t> policy_build_id = build_id_of(view);
  if (policy_build_id != kernel->build_id) {
    mismatches.push_back("build id " + hex_bytes(policy_build_id) + " in the policy, " +
                         hex_bytes(kernel->build_id) + " in the kernel");
  }
  // The header keeps at most 39 characters of the release (NUL padded).
  const std::string policy_release = release_of(view);
  if (kernel->release.compare(0, policy_release.size(), policy_release) != 0 ||
      (policy_release.size() < sizeof(view.header().kernel_release) - 1 &&
       kernel->release.size() != policy_release.size())) {
    mismatches.push_back("release '" + policy_release + "' in the policy, '" + kernel->release +
                         "' in the kernel");
  }
  if (view.header().link_text_va != kernel->text_va) {
    mismatches.push_back("_text " + hex(view.header().link_text_va) + " in the policy, " +
                         hex(kernel->text_va) + " in the kernel");
  }
  if (!mismatches.empty()) {
    for (const std::string& mismatch : mismatches) {
      err << "vmplguard: " << options.file << ": does not match " << options.vmlinux << ": " << mismatch
          << "\n";
    }
    return kExitFindings;
  }
  out << options.file << ": ok: valid policy, sha256 " << digest << ", matches " << options.vmlinux
      << " (build id " << hex_bytes(kernel->build_id) << ")\n";
  return kExitOk;
}

}  // namespace vg::cli
