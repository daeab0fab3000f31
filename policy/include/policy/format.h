// The vmplguard policy file, format 1: the on-disk layout, described once.
//
// docs/policy-format.md is the prose companion of this header; the two must
// agree field by field. Every multi-byte integer is little-endian. Addresses
// are offsets from the kernel's `_text` symbol, so one policy serves every
// KASLR slide of the kernel it was made from.
//
// Layout: FileHeader | TableEntry[table_count] | tables (8-byte aligned) |
//         SHA-256 of every preceding byte (32 bytes).
//
// This header is freestanding: the VMPL0 monitor includes it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vg::policy {

inline constexpr char kMagic[8] = {'V', 'M', 'P', 'L', 'G', 'P', 'O', 'L'};
inline constexpr uint16_t kFormatMajor = 1;
inline constexpr uint16_t kFormatMinor = 0;
inline constexpr size_t kDigestSize = 32;
// Upper bounds that keep a hostile file from steering the parser into huge
// loops; generous against real kernels (6.12: ~400k sites, ~105k functions).
inline constexpr uint32_t kMaxTables = 32;
inline constexpr uint64_t kMaxFileSize = 512ull << 20;
inline constexpr uint8_t kMaxSiteLength = 16;
inline constexpr uint8_t kMaxPatternsPerSite = 16;

// Header flags.
enum HeaderFlags : uint32_t {
  // Modules may load; their text must still hash to a MODULE_HASHES entry
  // unless kFlagModulesUnrestricted is also set.
  kFlagModulesAllowed = 1u << 0,
  kFlagModulesUnrestricted = 1u << 1,
  // The kernel may map BPF JIT images executable (through the monitor).
  kFlagBpfJitAllowed = 1u << 2,
  // The kernel may arm kprobes inside functions outside the trusted region
  // (int3 at an instruction boundary, optimized to a jmp into an admitted
  // out-of-line image, then restored); docs/kci.md, "kprobes".
  kFlagKprobesAllowed = 1u << 3,
};

struct FileHeader {
  char magic[8];            // "VMPLGPOL"
  uint16_t format_major;    // incompatible changes bump this; readers refuse others
  uint16_t format_minor;    // compatible additions (new table kinds) bump this
  uint32_t header_size;     // sizeof(FileHeader) == 128
  uint64_t file_size;       // whole file, including the digest trailer
  uint64_t serial;          // producer's generation number; the monitor refuses a
                            // serial lower than the last policy it accepted
  uint64_t link_text_va;    // link-time virtual address of `_text`
  uint32_t flags;           // HeaderFlags
  uint32_t table_count;     // entries in the table directory
  uint8_t build_id_size;    // bytes used in build_id (GNU build-id note), 0..32
  uint8_t reserved0[7];     // zero
  uint8_t build_id[32];     // the kernel's NT_GNU_BUILD_ID descriptor
  char kernel_release[40];  // e.g. "6.12.117+deb12-cloud-amd64", NUL padded
};
static_assert(sizeof(FileHeader) == 128);

enum class TableKind : uint32_t {
  kRegions = 1,       // Region[], sorted by start, non-overlapping
  kSites = 2,         // Site[], sorted by offset, unique offsets
  kPatterns = 3,      // Pattern[], referenced by sites
  kBytes = 4,         // uint8_t[], literal pattern bytes
  kPrivileged = 5,    // PrivilegedInsn[], sorted by offset
  kFunctions = 6,     // Function[], sorted by offset
  kStrings = 7,       // char[], NUL-terminated names
  kObjects = 8,       // CriticalObject[], sorted by offset, non-overlapping
  kModuleHashes = 9,  // ModuleHash[], sorted by digest bytes, unique
};

struct TableEntry {
  uint32_t kind;        // TableKind; unknown kinds are skipped by readers
  uint32_t entry_size;  // sizeof the entry type for `kind` (1 for blobs)
  uint64_t offset;      // from the start of the file, multiple of 8
  uint64_t count;       // number of entries (bytes, for blobs)
};
static_assert(sizeof(TableEntry) == 24);

// Page permissions as the RMP expresses them for a VMPL: bits 15:8 of the
// RMPADJUST RDX operand shifted down by 8 [APM2 15.36.7].
enum Perm : uint8_t {
  kPermRead = 1u << 0,
  kPermWrite = 1u << 1,
  kPermUserExec = 1u << 2,
  kPermSupervisorExec = 1u << 3,
};

enum class RegionKind : uint16_t {
  kText = 1,         // .text (and other resident executable sections)
  kRodata = 2,       // .rodata outside ro_after_init, and other read-only sections
  kRoAfterInit = 3,  // [__start_ro_after_init, __end_ro_after_init)
  kData = 4,         // .data and other writable PROGBITS
  kBss = 5,          // .bss, .brk
  kInitText = 6,     // .init.text and friends: executable until free_initmem
  kInitData = 7,     // .init.data and friends
};

struct Region {
  uint64_t start;       // offset from _text
  uint64_t size;        // bytes
  uint16_t kind;        // RegionKind
  uint8_t perms_boot;   // Perm mask the monitor sets at kernel registration
  uint8_t perms_final;  // Perm mask after the kernel's final lock (ro_after_init
                        // locked, init memory freed)
  uint32_t reserved;    // zero
};
static_assert(sizeof(Region) == 24);

// What kind of patch site; a site may be several at once (a bit mask).
enum SiteKind : uint16_t {
  kSiteAlternative = 1u << 0,
  kSiteJumpLabel = 1u << 1,
  kSiteStaticCall = 1u << 2,
  kSiteFtrace = 1u << 3,        // __mcount_loc (call __fentry__)
  kSiteRetpoline = 1u << 4,     // .retpoline_sites
  kSiteReturn = 1u << 5,        // .return_sites
  kSiteCall = 1u << 6,          // .call_sites (6.12 call depth tracking)
  kSiteEndbrSeal = 1u << 7,     // .ibt_endbr_seal
  kSiteParavirt = 1u << 8,      // .parainstructions (6.1)
  kSiteRuntimeConst = 1u << 9,  // runtime_shift_* / runtime_ptr_* (6.12)
  kSiteSmpLock = 1u << 10,      // .smp_locks (lock prefix <-> ds prefix)
};

struct Site {
  uint32_t offset;         // from _text
  uint16_t kinds;          // SiteKind mask
  uint8_t length;          // bytes a patch at this site may cover, 1..kMaxSiteLength
  uint8_t pattern_count;   // 1..kMaxPatternsPerSite
  uint32_t first_pattern;  // index into the PATTERNS table
  uint32_t reserved;       // zero
};
static_assert(sizeof(Site) == 16);

// A legitimate byte sequence for a site. Position-dependent encodings (relative
// calls and jumps) are stored as their target so that the monitor can encode
// the expected bytes for the site's own address.
enum class PatternKind : uint8_t {
  kLiteral = 1,          // `length` bytes at BYTES[arg]
  kNop = 2,              // the kernel's canonical NOP of `length` bytes (x86_nops)
  kCallRel32 = 3,        // e8 rel32 to _text+arg, NOP-padded to `length`
  kJmpRel32 = 4,         // e9 rel32 to _text+arg, NOP-padded to `length`
  kJmpRel8 = 5,          // eb rel8 to _text+arg, NOP-padded to `length`
  kCallAnyFunction = 6,  // e8 rel32 to the start of any FUNCTIONS entry
  kJmpAnyFunction = 7,   // e9 rel32 to the start of any FUNCTIONS entry
};

struct Pattern {
  uint8_t kind;       // PatternKind
  uint8_t length;     // total bytes written, equal to the site's length or shorter
  uint16_t reserved;  // zero
  uint32_t arg;       // see PatternKind
};
static_assert(sizeof(Pattern) == 8);

enum class PrivilegedKind : uint16_t {
  kMovToCr0 = 1,
  kMovToCr2 = 2,
  kMovToCr3 = 3,
  kMovToCr4 = 4,
  kMovToCr8 = 5,
  kMovToDr = 6,
  kWrmsr = 7,
  kRdmsr = 8,
  kLgdt = 9,
  kLidt = 10,
  kLldt = 11,
  kLtr = 12,
  kInvlpg = 13,
  kInvpcid = 14,
  kWbinvd = 15,
  kXsetbv = 16,
  kSwapgs = 17,
  kSysret = 18,
  kIretq = 19,
  kPvalidate = 20,
  kRmpadjust = 21,
  kVmgexit = 22,
  kWrpkru = 23,
  kClts = 24,
  kInvd = 25,
  kHlt = 26,
  kSysexit = 27,
  kRmpquery = 28,
  kPsmash = 29,
  kInvlpgb = 30,
  kTlbsync = 31,
  kMovToCr1 = 0,  // never used: CR1 and CR5-7, CR9-15 do not exist [SDM 2.5]
};

enum PrivilegedFlags : uint8_t {
  kPrivUnintended = 1u << 0,  // starts inside another instruction's bytes
  kPrivTrusted = 1u << 1,     // inside a trusted-region function
  kPrivInit = 1u << 2,        // inside init text (gone after free_initmem)
};

struct PrivilegedInsn {
  uint32_t offset;  // from _text
  uint16_t kind;    // PrivilegedKind
  uint8_t length;   // instruction length in bytes
  uint8_t flags;    // PrivilegedFlags
};
static_assert(sizeof(PrivilegedInsn) == 8);

enum FunctionFlags : uint32_t {
  kFunctionTrusted = 1u << 0,  // member of the trusted region
  kFunctionInit = 1u << 1,     // in init text
};

struct Function {
  uint32_t offset;  // from _text
  uint32_t size;    // bytes (0 if the symbol table gives none)
  uint32_t name;    // offset into STRINGS
  uint32_t flags;   // FunctionFlags
};
static_assert(sizeof(Function) == 16);

enum class Protection : uint16_t {
  kLockedAfterBoot = 1,  // read-only for the kernel once registration/locking is done
  kWriteMediated = 2,    // read-only; legitimate writes are asked of the monitor
  kWatched = 3,          // writable; the monitor checks it against a baseline at entries
};

struct CriticalObject {
  uint32_t offset;      // from _text
  uint32_t size;        // bytes, from BTF/DWARF (or the symbol size)
  uint32_t name;        // offset into STRINGS
  uint16_t protection;  // Protection
  uint16_t region;      // RegionKind that holds it
};
static_assert(sizeof(CriticalObject) == 16);

struct ModuleHash {
  uint8_t sha256[32];  // SHA-256 of the module's text as KCI hashes it: in guest memory when
                       // REGISTER_MODULE is called, i.e. after relocation (docs/replay.md)
  uint32_t name;       // offset into STRINGS
  uint32_t reserved;   // zero
};
static_assert(sizeof(ModuleHash) == 40);

}  // namespace vg::policy
