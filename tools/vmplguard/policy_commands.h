// `vmplguard policy show` and `vmplguard policy verify`.
#pragma once

#include <ostream>

#include "cli.h"
#include "options.h"

namespace vg::cli {

int policy_show(const PolicyShowOptions& options, std::ostream& out, std::ostream& err);
int policy_verify(const PolicyVerifyOptions& options, const Backend& backend, std::ostream& out,
                  std::ostream& err);

}  // namespace vg::cli
