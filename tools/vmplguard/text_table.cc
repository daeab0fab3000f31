#include "text_table.h"

#include <algorithm>

#include "base/assert.h"

namespace vg::cli {

size_t visible_width(const std::string& text) {
  size_t width = 0;
  bool in_escape = false;
  for (char c : text) {
    if (in_escape) {
      if (c == 'm') in_escape = false;
    } else if (c == '\x1b') {
      in_escape = true;
    } else if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) {
      ++width;  // count UTF-8 lead bytes only
    }
  }
  return width;
}

TextTable::TextTable(std::vector<std::string> headers, std::vector<Align> aligns)
    : headers_(std::move(headers)), aligns_(std::move(aligns)) {
  VG_ASSERT(headers_.size() == aligns_.size());
}

void TextTable::add_row(std::vector<std::string> cells) {
  VG_ASSERT(cells.size() == headers_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::render(size_t indent) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = visible_width(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], visible_width(row[c]));
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line(indent, ' ');
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = widths[c] - visible_width(cells[c]);
      if (c > 0) line += "  ";
      if (aligns_[c] == Align::kRight) line.append(pad, ' ');
      line += cells[c];
      if (aligns_[c] == Align::kLeft) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  emit(headers_);
  for (const auto& row : rows_) emit(row);
  return out;
}

}  // namespace vg::cli
