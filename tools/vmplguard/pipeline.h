// The analysis pipeline behind `vmplguard analyze`: runs the stages of
// analyzer/stages.h in dependency order and builds the policy.
//
//   open, kernel info, regions, functions            (sequential)
//   privileged sweep  ||  patch sites, then objects  (two threads with jobs >= 2)
//   trust, policy                                    (sequential)
//
// The privileged sweep decodes all of .text and dominates the run; patch
// sites and objects together take about as long, so the two branches
// balance on two cores.
#pragma once

#include <string>

#include "analyzer/diagnostic.h"
#include "analyzer/model.h"
#include "base/result.h"
#include "cli.h"

namespace vg::cli {

Result<AnalyzeOutput, analyzer::Diagnostic> run_pipeline(const AnalyzeRequest& request,
                                                         ProgressReporter& progress);

// Release, build id and _text of a vmlinux, for `policy verify --vmlinux`.
Result<analyzer::KernelInfo, analyzer::Diagnostic> identify_kernel(const std::string& vmlinux);

}  // namespace vg::cli
