// Content hashes (BLAKE2b-256 by libsodium, SHA-256 by OpenSSL, which uses the CPU's SHA
// instructions where there are some: about 5x libsodium's portable SHA-256) and hex text for them.
// Used to address artifact chunks, to name artifacts by their manifest, and to check downloads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tenpak {

// The ids are the ones stored in a .tnpk footer (docs/formats/tnpk.md); do not renumber.
enum class HashAlgorithm : uint32_t { kBlake2b256 = 1, kSha256 = 2 };

using Digest = std::array<uint8_t, 32>;

std::string_view HashAlgorithmName(HashAlgorithm algorithm);  // "blake2b-256", "sha256"
std::optional<HashAlgorithm> HashAlgorithmFromName(std::string_view name);
std::optional<HashAlgorithm> HashAlgorithmFromId(uint32_t id);

// Incremental hashing, for data that arrives in pieces.
class Hasher {
public:
    explicit Hasher(HashAlgorithm algorithm);
    ~Hasher();
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;
    void Update(std::span<const std::byte> data);
    void Update(std::string_view text);
    Digest Finish();

private:
    HashAlgorithm algorithm_;
    void* sha256_ = nullptr;  // OpenSSL's EVP_MD_CTX, for SHA-256
    // libsodium's BLAKE2b state (crypto_generichash_state: 384 bytes, aligned 64).
    alignas(64) std::array<unsigned char, 512> blake2b_{};
};

Digest HashBytes(HashAlgorithm algorithm, std::span<const std::byte> data);

// Lower-case hex.
std::string ToHex(std::span<const uint8_t> bytes);
// Hex (either case) to bytes; nullopt for an odd length or a non-hex digit.
std::optional<std::vector<uint8_t>> FromHex(std::string_view hex);
// Exactly 64 hex digits to a digest.
std::optional<Digest> DigestFromHex(std::string_view hex);

// libsodium needs one call to sodium_init() before use; every function here makes it. Callers of
// libsodium elsewhere call this first. Thread-safe.
void EnsureSodiumInitialised();

}  // namespace tenpak
