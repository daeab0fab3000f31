#include "pipeline.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "analyzer/elf_image.h"
#include "analyzer/stages.h"

namespace vg::cli {
namespace {

using analyzer::Analysis;
using analyzer::Diagnostic;
using analyzer::ElfImage;

using StageResult = Result<void, Diagnostic>;

// Runs one stage, reports it, and records its wall time in `timings` unless
// the stage recorded its own under the same name (the analyzer's stages do;
// their entries may carry sub-stage detail, so theirs are kept).
template <typename Stage>
StageResult timed(const char* name, ProgressReporter& progress, std::vector<analyzer::StageTiming>& timings,
                  Stage&& stage) {
  progress.stage_begin(name);
  const size_t before = timings.size();
  const auto start = std::chrono::steady_clock::now();
  StageResult result = stage();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.stage_end(name, seconds);
  const bool recorded =
      std::any_of(timings.begin() + static_cast<std::ptrdiff_t>(before), timings.end(),
                  [&](const analyzer::StageTiming& timing) { return timing.stage == name; });
  if (!recorded) timings.push_back(analyzer::StageTiming{name, seconds});
  return result;
}

// The branch that runs beside the privileged sweep. It works on its own
// Analysis (with copies of the inputs it may read) so that the two threads
// never touch the same object, whatever the stages write (notes included).
StageResult run_side_branch(const ElfImage& image, Analysis& side, ProgressReporter& progress) {
  VG_TRY_VOID(timed("patch_sites", progress, side.timings,
                    [&] { return analyzer::collect_patch_sites(image, side); }));
  return timed("objects", progress, side.timings, [&] { return analyzer::collect_objects(image, side); });
}

StageResult run_privileged(const ElfImage& image, Analysis& analysis, ProgressReporter& progress) {
  // The stage may name its progress differently; show it under ours.
  const analyzer::Progress forward = [&progress](std::string_view, uint64_t done, uint64_t total) {
    progress.update("privileged", done, total);
  };
  return timed("privileged", progress, analysis.timings,
               [&] { return analyzer::collect_privileged(image, analysis, forward); });
}

void join_side(Analysis& analysis, Analysis& side) {
  analysis.sites = std::move(side.sites);
  analysis.site_tables = std::move(side.site_tables);
  analysis.objects = std::move(side.objects);
  for (std::string& note : side.notes) analysis.notes.push_back(std::move(note));
  for (analyzer::StageTiming& timing : side.timings) analysis.timings.push_back(std::move(timing));
}

}  // namespace

Result<AnalyzeOutput, Diagnostic> run_pipeline(const AnalyzeRequest& request, ProgressReporter& progress) {
  AnalyzeOutput output;
  Analysis& analysis = output.analysis;
  std::unique_ptr<ElfImage> image;
  VG_TRY_VOID(timed("open", progress, analysis.timings, [&]() -> StageResult {
    auto opened = ElfImage::open(request.vmlinux);
    if (!opened.ok()) return Err{opened.error()};
    image = std::move(opened).value();
    return Ok{};
  }));
  VG_TRY_VOID(timed("kernel_info", progress, analysis.timings,
                    [&] { return analyzer::collect_kernel_info(*image, analysis); }));
  VG_TRY_VOID(timed("regions", progress, analysis.timings,
                    [&] { return analyzer::collect_regions(*image, analysis); }));
  VG_TRY_VOID(timed("functions", progress, analysis.timings,
                    [&] { return analyzer::collect_functions(*image, analysis); }));

  Analysis side;
  side.kernel = analysis.kernel;
  side.regions = analysis.regions;
  side.functions = analysis.functions;
  if (request.jobs >= 2) {
    StageResult side_result = Ok{};
    std::thread worker([&] { side_result = run_side_branch(*image, side, progress); });
    const StageResult privileged_result = run_privileged(*image, analysis, progress);
    worker.join();
    VG_TRY_VOID(privileged_result);
    VG_TRY_VOID(side_result);
  } else {
    VG_TRY_VOID(run_privileged(*image, analysis, progress));
    VG_TRY_VOID(run_side_branch(*image, side, progress));
  }
  join_side(analysis, side);

  VG_TRY_VOID(
      timed("trust", progress, analysis.timings, [&] { return analyzer::classify_trust(*image, analysis); }));
  VG_TRY_VOID(timed("policy", progress, analysis.timings, [&]() -> StageResult {
    // Per-CPU objects (gdt_page, cpu_tss_rw) have no fixed address for the
    // policy to pin: the objects stage reports them "reported only", but the
    // policy writer of this merge state refuses any present object outside
    // _text's 4 GiB. Hand the writer only what a policy can hold; the report
    // still lists every object.
    const std::vector<analyzer::CriticalObjectInfo> all_objects = analysis.objects;
    std::erase_if(analysis.objects, [](const analyzer::CriticalObjectInfo& object) {
      return object.present && object.region == "percpu";
    });
    analyzer::PolicyOptions policy_options;
    policy_options.module_digests = request.module_digests;
    if (request.allow_bpf_jit) policy_options.flags |= policy::kFlagBpfJitAllowed;
    if (request.allow_kprobes) policy_options.flags |= policy::kFlagKprobesAllowed;
    auto built = analyzer::build_policy(analysis, policy_options);
    analysis.objects = all_objects;
    if (!built.ok()) return Err{image->error("cannot build a policy: " + built.error())};
    output.policy = std::move(built).value();
    return Ok{};
  }));
  return output;
}

Result<analyzer::KernelInfo, Diagnostic> identify_kernel(const std::string& vmlinux) {
  auto image = VG_TRY(ElfImage::open(vmlinux));
  Analysis analysis;
  VG_TRY_VOID(analyzer::collect_kernel_info(*image, analysis));
  return analysis.kernel;
}

}  // namespace vg::cli
