// Shared state of the special-section readers (internal to the analyzer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analyzer/elf_image.h"
#include "analyzer/model.h"
#include "analyzer/site_tables.h"

namespace vg::analyzer {

// What every reader needs: the image, where the output goes, and the rules
// common to all sites (inside executable code, short enough for the policy).
class SiteSink {
 public:
  SiteSink(const ElfImage& image, Analysis& out) : image_(image), out_(out) {}

  const ElfImage& image() const { return image_; }
  KernelLayout layout() const { return out_.kernel.layout; }
  uint64_t text_va() const { return out_.kernel.text_va; }

  // The on-disk bytes at a site, or a Diagnostic naming the table entry if
  // the site is not inside executable code.
  Result<ByteView, Diagnostic> site_bytes(const std::string& table, uint64_t entry, uint64_t va,
                                          uint64_t length) const;
  // True if `va` is in code the kernel copies from (.altinstr_replacement):
  // patched in place there before being copied, never executed there.
  bool in_replacement(uint64_t va) const;

  // Offset from _text for a position-dependent pattern; false if the target
  // lies below _text or beyond 4 GiB of it.
  bool text_offset(uint64_t va, uint32_t& offset) const;

  // Records a site; false (and a note) if it cannot be expressed.
  bool add(SiteTableStats& stats, PatchSite site);
  void note(std::string text) { out_.notes.push_back(std::move(text)); }

  // Return sites inside .altinstr_replacement (rewritten there before the
  // alternatives copy them) and the return thunks present, both as VAs;
  // filled by the .return_sites reader, which runs first.
  const std::vector<uint64_t>& replacement_returns() const { return replacement_returns_; }
  const std::vector<uint64_t>& return_thunks() const { return return_thunks_; }
  void add_replacement_return(uint64_t va) { replacement_returns_.push_back(va); }
  void set_return_thunks(std::vector<uint64_t> thunks) { return_thunks_ = std::move(thunks); }
  // Adds the summary notes of what add() could not record.
  void finish();

 private:
  const ElfImage& image_;
  Analysis& out_;
  std::vector<uint64_t> replacement_returns_;
  std::vector<uint64_t> return_thunks_;
  std::vector<uint64_t> unexpressible_;
  uint64_t unexpressible_count_ = 0;
  uint64_t truncated_ = 0;
};

Result<void, Diagnostic> read_alternatives(SiteSink& sink, SiteTableStats& stats);

}  // namespace vg::analyzer
