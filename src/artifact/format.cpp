#include "tenpak/artifact/format.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace tenpak::artifact {
namespace {

template <typename T>
void Put(std::byte* out, T value) {
    std::memcpy(out, &value, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
}

template <typename T>
T Get(const std::byte* in) {
    T value;
    std::memcpy(&value, in, sizeof(T));
    return value;
}

bool MagicAt(std::span<const std::byte> bytes, size_t offset, const std::array<uint8_t, 8>& magic) {
    return std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

bool AllZero(std::span<const std::byte> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

std::string VersionString(uint16_t major, uint16_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

std::array<std::byte, kHeaderSize> EncodeHeader() {
    std::array<std::byte, kHeaderSize> header{};
    std::memcpy(header.data(), kHeaderMagic.data(), kHeaderMagic.size());
    Put<uint16_t>(header.data() + 8, kMajorVersion);
    Put<uint16_t>(header.data() + 10, kMinorVersion);
    Put<uint32_t>(header.data() + 12, static_cast<uint32_t>(kHeaderSize));
    return header;
}

Status DecodeHeader(std::span<const std::byte> bytes, std::string_view origin) {
    const std::string where(origin);
    if (bytes.size() < kHeaderSize || !MagicAt(bytes, 0, kHeaderMagic)) {
        return Status::Corruption(where + ": not a .tnpk artifact (bad magic at offset 0)");
    }
    const auto major = Get<uint16_t>(bytes.data() + 8);
    if (major != kMajorVersion) {
        return Status::Unsupported(where + ": .tnpk version " + VersionString(major, Get<uint16_t>(bytes.data() + 10)) +
                                   " is not supported (this TenPak reads version 1.x)");
    }
    if (Get<uint32_t>(bytes.data() + 12) != kHeaderSize) {
        return Status::Corruption(where + ": header size is " + std::to_string(Get<uint32_t>(bytes.data() + 12)) +
                                  ", expected 64");
    }
    return Status::Ok();
}

std::array<std::byte, kFooterSize> EncodeFooter(const Footer& footer) {
    std::array<std::byte, kFooterSize> out{};
    Put<uint64_t>(out.data() + 0, footer.manifest_offset);
    Put<uint64_t>(out.data() + 8, footer.manifest_size);
    Put<uint64_t>(out.data() + 16, footer.signature_size);
    Put<uint32_t>(out.data() + 24, static_cast<uint32_t>(footer.hash));
    std::memcpy(out.data() + 32, footer.manifest_hash.data(), footer.manifest_hash.size());
    Put<uint16_t>(out.data() + 64, footer.major);
    Put<uint16_t>(out.data() + 66, footer.minor);
    std::memcpy(out.data() + 72, kFooterMagic.data(), kFooterMagic.size());
    return out;
}

Result<Footer> DecodeFooter(std::span<const std::byte> bytes, uint64_t file_size, std::string_view origin) {
    const std::string where(origin);
    if (file_size < kHeaderSize + kFooterSize) {
        return Status::Corruption(where + ": " + std::to_string(file_size) +
                                  " bytes is too short for a .tnpk artifact (truncated?)");
    }
    if (bytes.size() != kFooterSize || !MagicAt(bytes, 72, kFooterMagic)) {
        return Status::Corruption(where + ": no .tnpk footer at the end of the file (truncated or not an artifact)");
    }
    Footer footer;
    footer.manifest_offset = Get<uint64_t>(bytes.data() + 0);
    footer.manifest_size = Get<uint64_t>(bytes.data() + 8);
    footer.signature_size = Get<uint64_t>(bytes.data() + 16);
    footer.major = Get<uint16_t>(bytes.data() + 64);
    footer.minor = Get<uint16_t>(bytes.data() + 66);
    if (footer.major != kMajorVersion) {
        return Status::Unsupported(where + ": .tnpk version " + VersionString(footer.major, footer.minor) +
                                   " is not supported (this TenPak reads version 1.x)");
    }
    const std::optional<HashAlgorithm> hash = HashAlgorithmFromId(Get<uint32_t>(bytes.data() + 24));
    if (!hash) {
        return Status::Unsupported(where + ": footer names hash algorithm " +
                                   std::to_string(Get<uint32_t>(bytes.data() + 24)) +
                                   ", which is not known (1 = blake2b-256, 2 = sha256)");
    }
    footer.hash = *hash;
    std::memcpy(footer.manifest_hash.data(), bytes.data() + 32, footer.manifest_hash.size());
    if (footer.manifest_size > kMaxManifestBytes || footer.signature_size > kMaxSignatureBytes) {
        return Status::Corruption(where + ": footer gives a manifest of " + std::to_string(footer.manifest_size) +
                                  " bytes and a signature of " + std::to_string(footer.signature_size) +
                                  " bytes, beyond the limits");
    }
    const uint64_t tail = footer.manifest_size + footer.signature_size + kFooterSize;
    if (footer.manifest_offset < kHeaderSize || footer.manifest_offset > file_size ||
        file_size - footer.manifest_offset != tail) {
        return Status::Corruption(where + ": footer places the manifest at " + std::to_string(footer.manifest_offset) +
                                  " (" + std::to_string(footer.manifest_size) + " bytes, signature " +
                                  std::to_string(footer.signature_size) + ") but the file has " +
                                  std::to_string(file_size) + " bytes (truncated or appended to?)");
    }
    return footer;
}

bool HeaderReservedAreZero(std::span<const std::byte> header) {
    return header.size() == kHeaderSize && AllZero(header.subspan(16));
}

bool FooterReservedAreZero(std::span<const std::byte> footer) {
    return footer.size() == kFooterSize && AllZero(footer.subspan(28, 4)) && AllZero(footer.subspan(68, 4));
}

}  // namespace tenpak::artifact
