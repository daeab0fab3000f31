// Builders of record-mode ring samples (struct vgt_event / vgt_chunk) and a
// trace writer that writes into memory, for the record-mode tests.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "agent/probe_event.h"

namespace vg::agent::test {

inline std::vector<uint8_t> sample_of(const vgt_event& event) {
  std::vector<uint8_t> bytes(sizeof(event));
  std::memcpy(bytes.data(), &event, sizeof(event));
  return bytes;
}

inline std::vector<uint8_t> sample_of(const vgp_event& event) {
  std::vector<uint8_t> bytes(sizeof(event));
  std::memcpy(bytes.data(), &event, sizeof(event));
  return bytes;
}

inline std::vector<uint8_t> sample_of(const vgt_chunk& chunk) {
  std::vector<uint8_t> bytes(sizeof(chunk));
  std::memcpy(bytes.data(), &chunk, sizeof(chunk));
  return bytes;
}

inline vgt_event batch_entry(uint64_t batch, uint32_t index, uint64_t count, uint64_t address,
                             std::vector<uint8_t> old_bytes, std::vector<uint8_t> new_bytes,
                             uint8_t origin = 0) {
  vgt_event event{};
  event.magic = VGT_MAGIC;
  event.type = VGT_BATCH_ENTRY;
  event.origin = origin;
  event.sequence = batch;
  event.index = index;
  event.size = count;
  event.address = address;
  event.length = static_cast<uint8_t>(old_bytes.size());
  std::memcpy(event.old_bytes, old_bytes.data(), old_bytes.size());
  std::memcpy(event.new_bytes, new_bytes.data(), new_bytes.size());
  return event;
}

inline vgt_event raw_poke(uint64_t address, uint64_t size, std::vector<uint8_t> old_bytes,
                          std::vector<uint8_t> new_bytes, uint64_t function = 0) {
  vgt_event event{};
  event.magic = VGT_MAGIC;
  event.type = VGT_POKE;
  event.address = address;
  event.size = size;
  event.value = function;
  event.length = static_cast<uint8_t>(old_bytes.size());
  std::memcpy(event.old_bytes, old_bytes.data(), old_bytes.size());
  std::memcpy(event.new_bytes, new_bytes.data(), new_bytes.size());
  return event;
}

inline vgt_event module_event(uint16_t type, const char* name, uint64_t base, uint64_t size,
                              uint64_t sequence) {
  vgt_event event{};
  event.magic = VGT_MAGIC;
  event.type = type;
  event.address = base;
  event.size = size;
  event.sequence = sequence;
  event.value = (size + VGT_CHUNK_SIZE - 1) / VGT_CHUNK_SIZE;
  std::strncpy(event.name, name, sizeof(event.name));
  return event;
}

inline vgt_chunk chunk_of(uint64_t sequence, uint32_t index, const std::vector<uint8_t>& data) {
  vgt_chunk chunk{};
  chunk.magic = VGT_MAGIC;
  chunk.type = VGT_MODULE_CHUNK;
  chunk.sequence = sequence;
  chunk.index = index;
  chunk.length = static_cast<uint32_t>(data.size());
  if (!data.empty()) std::memcpy(chunk.data, data.data(), data.size());
  return chunk;
}

// A FILE* into memory; text() is everything written so far.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&buffer_, &size_)) {}
  ~MemoryFile() {
    std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE* get() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

}  // namespace vg::agent::test
