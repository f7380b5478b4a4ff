// Signing a .tnpk manifest hash with Ed25519 or HMAC-SHA256, key files, and checking signatures
// against what the user trusts (docs/formats/tnpk.md, "Signature block" and "Key files").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/hash.h"
#include "tenpak/core/result.h"

namespace tenpak::artifact {

enum class SignatureScheme : uint8_t { kEd25519 = 0, kHmacSha256 = 1 };

// A key that can sign: an Ed25519 secret key (64 bytes, libsodium layout) or an HMAC secret.
struct SigningKey {
    SignatureScheme scheme = SignatureScheme::kEd25519;
    std::vector<uint8_t> secret;
};

// The parsed signature block.
struct Signature {
    SignatureScheme scheme = SignatureScheme::kEd25519;
    std::vector<uint8_t> public_key;  // ed25519
    std::vector<uint8_t> value;       // the signature (ed25519) or the MAC (hmac-sha256)
};

// What `verify` (and readers asked to) must see.
struct TrustPolicy {
    std::optional<std::vector<uint8_t>> public_key;  // an Ed25519 signature by this key is required
    std::optional<std::vector<uint8_t>> hmac_key;    // an HMAC with this secret is required
};

// Writes NAME (secret, mode 0600) and NAME.pub; fails if either exists (keys are not overwritten).
Status WriteEd25519KeyPair(const std::string& name);
// Writes NAME (mode 0600): 32 random bytes as hex.
Status WriteHmacKey(const std::string& name);

Result<SigningKey> ReadEd25519SecretKey(const std::string& path);
Result<std::vector<uint8_t>> ReadEd25519PublicKey(const std::string& path);
// The file's bytes without trailing whitespace; at least 16 bytes.
Result<std::vector<uint8_t>> ReadHmacKey(const std::string& path);

// The signature block text for a manifest hash (sorted keys, no whitespace).
std::string SignManifestHash(const Digest& manifest_hash, const SigningKey& key);
Result<Signature> ParseSignatureBlock(std::string_view text, std::string_view origin);

// Checks `signature` (nullopt: the artifact is unsigned) against the policy. On success returns a
// sentence for the user ("Ed25519 signature by key 1a2b...: valid"). kIntegrity when a required
// signature is missing, made with another key, or does not match.
Result<std::string> CheckSignature(const std::optional<Signature>& signature, const Digest& manifest_hash,
                                   const TrustPolicy& policy, std::string_view origin);

// A short fingerprint of a public key for messages: the first 16 hex digits.
std::string KeyFingerprint(const std::vector<uint8_t>& public_key);

}  // namespace tenpak::artifact
