#include "tenpak/core/hash.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tenpak {

static_assert(sizeof(crypto_generichash_state) <= 512 && alignof(crypto_generichash_state) <= 64);

void EnsureSodiumInitialised() {
    static std::once_flag once;
    std::call_once(once, [] {
        // sodium_init fails only when the system has no usable randomness source: nothing works then.
        if (sodium_init() < 0) std::abort();
    });
}

std::string_view HashAlgorithmName(HashAlgorithm algorithm) {
    return algorithm == HashAlgorithm::kSha256 ? "sha256" : "blake2b-256";
}

std::optional<HashAlgorithm> HashAlgorithmFromName(std::string_view name) {
    if (name == "blake2b-256") return HashAlgorithm::kBlake2b256;
    if (name == "sha256") return HashAlgorithm::kSha256;
    return std::nullopt;
}

std::optional<HashAlgorithm> HashAlgorithmFromId(uint32_t id) {
    if (id == static_cast<uint32_t>(HashAlgorithm::kBlake2b256)) return HashAlgorithm::kBlake2b256;
    if (id == static_cast<uint32_t>(HashAlgorithm::kSha256)) return HashAlgorithm::kSha256;
    return std::nullopt;
}

Hasher::Hasher(HashAlgorithm algorithm) : algorithm_(algorithm) {
    if (algorithm_ == HashAlgorithm::kSha256) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) std::abort();  // out of memory
        sha256_ = ctx;
    } else {
        EnsureSodiumInitialised();
        crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(blake2b_.data()), nullptr, 0,
                                sizeof(Digest));
    }
}

Hasher::~Hasher() {
    if (sha256_ != nullptr) EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(sha256_));
}

void Hasher::Update(std::span<const std::byte> data) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    if (algorithm_ == HashAlgorithm::kSha256) {
        EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(sha256_), bytes, data.size());
    } else {
        crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(blake2b_.data()), bytes, data.size());
    }
}

void Hasher::Update(std::string_view text) {
    Update(std::as_bytes(std::span(text.data(), text.size())));
}

Digest Hasher::Finish() {
    Digest digest{};
    if (algorithm_ == HashAlgorithm::kSha256) {
        unsigned int size = 0;
        EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(sha256_), digest.data(), &size);
    } else {
        crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(blake2b_.data()), digest.data(),
                                 digest.size());
    }
    return digest;
}

Digest HashBytes(HashAlgorithm algorithm, std::span<const std::byte> data) {
    Hasher hasher(algorithm);
    hasher.Update(data);
    return hasher.Finish();
}

std::string ToHex(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex(bytes.size() * 2, '0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        hex[2 * i] = kDigits[bytes[i] >> 4];
        hex[2 * i + 1] = kDigits[bytes[i] & 15];
    }
    return hex;
}

namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::vector<uint8_t>> FromHex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::vector<uint8_t> bytes(hex.size() / 2);
    for (size_t i = 0; i < bytes.size(); ++i) {
        const int high = HexValue(hex[2 * i]);
        const int low = HexValue(hex[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        bytes[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return bytes;
}

std::optional<Digest> DigestFromHex(std::string_view hex) {
    if (hex.size() != 2 * sizeof(Digest)) return std::nullopt;
    const std::optional<std::vector<uint8_t>> bytes = FromHex(hex);
    if (!bytes) return std::nullopt;
    Digest digest{};
    std::memcpy(digest.data(), bytes->data(), digest.size());
    return digest;
}

}  // namespace tenpak
