// The .tnpk frame: a fixed header, the chunk area, the manifest, the signature block and a fixed
// footer that points back to the manifest (docs/formats/tnpk.md, "Byte map").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tenpak/core/hash.h"
#include "tenpak/core/result.h"

namespace tenpak::artifact {

inline constexpr uint16_t kMajorVersion = 1;
inline constexpr uint16_t kMinorVersion = 0;
inline constexpr uint64_t kHeaderSize = 64;
inline constexpr uint64_t kFooterSize = 80;
inline constexpr uint64_t kChunkAlignment = 64;
inline constexpr uint64_t kDefaultChunkSize = 16ull << 20;
// Sanity limits a reader enforces before allocating (a manifest lists every tensor and chunk: a
// 70B model needs well under 1 MB).
inline constexpr uint64_t kMaxManifestBytes = 256ull << 20;
inline constexpr uint64_t kMaxSignatureBytes = 64ull << 10;
inline constexpr uint64_t kMaxChunkSize = 1ull << 30;

inline constexpr std::array<uint8_t, 8> kHeaderMagic = {0x89, 'T', 'N', 'P', 'K', '\r', '\n', 0x1a};
inline constexpr std::array<uint8_t, 8> kFooterMagic = {0x89, 'T', 'N', 'P', 'K', 'E', 'O', 'F'};

struct Footer {
    uint64_t manifest_offset = 0;
    uint64_t manifest_size = 0;
    uint64_t signature_size = 0;
    HashAlgorithm hash = HashAlgorithm::kBlake2b256;
    Digest manifest_hash{};
    uint16_t major = kMajorVersion;
    uint16_t minor = kMinorVersion;
};

constexpr uint64_t AlignChunk(uint64_t offset) {
    return (offset + kChunkAlignment - 1) / kChunkAlignment * kChunkAlignment;
}

std::array<std::byte, kHeaderSize> EncodeHeader();
// Checks magic, major version and header size. `origin` names the file in errors.
Status DecodeHeader(std::span<const std::byte> bytes, std::string_view origin);

std::array<std::byte, kFooterSize> EncodeFooter(const Footer& footer);
// Checks the magic, the version, the hash id, and that the manifest, signature and footer tile the
// end of a file of `file_size` bytes.
Result<Footer> DecodeFooter(std::span<const std::byte> bytes, uint64_t file_size, std::string_view origin);

// Whether reserved footer/header bytes are zero (`verify` checks them; readers need not).
bool HeaderReservedAreZero(std::span<const std::byte> header);
bool FooterReservedAreZero(std::span<const std::byte> footer);

}  // namespace tenpak::artifact
