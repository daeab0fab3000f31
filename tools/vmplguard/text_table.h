// Column-aligned plain-text tables for the human report. Cells may carry ANSI
// color sequences; widths are measured without them.
#pragma once

#include <string>
#include <vector>

namespace vg::cli {

class TextTable {
 public:
  enum class Align { kLeft, kRight };

  explicit TextTable(std::vector<std::string> headers, std::vector<Align> aligns);
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  // Rows indented by `indent` spaces, two spaces between columns, no
  // trailing spaces.
  std::string render(size_t indent) const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> aligns_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of `text`, skipping ANSI escape sequences.
size_t visible_width(const std::string& text);

}  // namespace vg::cli
