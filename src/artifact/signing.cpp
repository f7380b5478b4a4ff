#include "tenpak/artifact/signing.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tenpak/io/mapped_file.h"

namespace tenpak::artifact {
namespace {

constexpr std::string_view kSecretPrefix = "tenpak-ed25519-secret-key:";
constexpr std::string_view kPublicPrefix = "tenpak-ed25519-public-key:";

// Creates `path` with `mode` and writes `text`; refuses to replace an existing file.
Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST) {
            return Status::InvalidArgument(path + ": already exists; keys are never overwritten (remove it first)");
        }
        return Status::IOError(path + ": cannot create: " + ErrnoMessage(errno));
    }
    const ssize_t written = ::write(fd, text.data(), text.size());
    const int err = errno;
    ::close(fd);
    if (written != static_cast<ssize_t>(text.size())) {
        std::filesystem::remove(path);
        return Status::IOError(path + ": cannot write: " + ErrnoMessage(err));
    }
    return Status::Ok();
}

std::string_view TrimEnd(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

// "<prefix><hex>" with exactly `bytes` bytes of hex.
Result<std::vector<uint8_t>> ReadPrefixedHex(const std::string& path, std::string_view prefix, size_t bytes,
                                             std::string_view what) {
    TP_ASSIGN_OR_RETURN(const std::string text, io::ReadFileToString(path));
    const std::string_view line = TrimEnd(text);
    if (!line.starts_with(prefix)) {
        return Status::InvalidArgument(path + ": not " + std::string(what) + " (expected a line starting with '" +
                                       std::string(prefix) + "', as `tenpak keygen` writes)");
    }
    std::optional<std::vector<uint8_t>> key = FromHex(line.substr(prefix.size()));
    if (!key || key->size() != bytes) {
        return Status::InvalidArgument(path + ": " + std::string(what) + " must be " + std::to_string(2 * bytes) +
                                       " hex digits");
    }
    return std::move(*key);
}

std::string HexOf(const unsigned char* data, size_t size) {
    return ToHex(std::span<const uint8_t>(data, size));
}

}  // namespace

Status WriteEd25519KeyPair(const std::string& name) {
    EnsureSodiumInitialised();
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    unsigned char secret_key[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(public_key, secret_key);
    const std::string pub_path = name + ".pub";
    if (std::filesystem::exists(pub_path)) {
        return Status::InvalidArgument(pub_path + ": already exists; keys are never overwritten (remove it first)");
    }
    TP_RETURN_IF_ERROR(
        WriteNewFile(name, std::string(kSecretPrefix) + HexOf(secret_key, sizeof secret_key) + "\n", 0600));
    sodium_memzero(secret_key, sizeof secret_key);
    const Status status =
        WriteNewFile(pub_path, std::string(kPublicPrefix) + HexOf(public_key, sizeof public_key) + "\n", 0644);
    if (!status.ok()) std::filesystem::remove(name);
    return status;
}

Status WriteHmacKey(const std::string& name) {
    EnsureSodiumInitialised();
    unsigned char secret[32];
    randombytes_buf(secret, sizeof secret);
    const Status status = WriteNewFile(name, HexOf(secret, sizeof secret) + "\n", 0600);
    sodium_memzero(secret, sizeof secret);
    return status;
}

Result<SigningKey> ReadEd25519SecretKey(const std::string& path) {
    SigningKey key;
    key.scheme = SignatureScheme::kEd25519;
    TP_ASSIGN_OR_RETURN(key.secret,
                        ReadPrefixedHex(path, kSecretPrefix, crypto_sign_SECRETKEYBYTES, "an Ed25519 secret key"));
    // The secret key ends with its public key; a mismatch means the file was edited.
    unsigned char derived[crypto_sign_PUBLICKEYBYTES];
    unsigned char rebuilt[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(derived, rebuilt, key.secret.data());  // the seed is the first 32 bytes
    sodium_memzero(rebuilt, sizeof rebuilt);
    if (sodium_memcmp(derived, key.secret.data() + crypto_sign_SEEDBYTES, sizeof derived) != 0) {
        return Status::InvalidArgument(path + ": the secret key's public half does not match its seed (damaged key)");
    }
    return key;
}

Result<std::vector<uint8_t>> ReadEd25519PublicKey(const std::string& path) {
    return ReadPrefixedHex(path, kPublicPrefix, crypto_sign_PUBLICKEYBYTES, "an Ed25519 public key");
}

Result<std::vector<uint8_t>> ReadHmacKey(const std::string& path) {
    TP_ASSIGN_OR_RETURN(const std::string text, io::ReadFileToString(path));
    const std::string_view secret = TrimEnd(text);
    if (secret.size() < 16) {
        return Status::InvalidArgument(path + ": an HMAC key must be at least 16 bytes (`tenpak keygen --hmac` makes one)");
    }
    return std::vector<uint8_t>(secret.begin(), secret.end());
}

std::string SignManifestHash(const Digest& manifest_hash, const SigningKey& key) {
    EnsureSodiumInitialised();
    nlohmann::json block;
    if (key.scheme == SignatureScheme::kEd25519) {
        unsigned char signature[crypto_sign_BYTES];
        crypto_sign_detached(signature, nullptr, manifest_hash.data(), manifest_hash.size(), key.secret.data());
        block = {{"scheme", "ed25519"},
                 {"public_key", HexOf(key.secret.data() + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES)},
                 {"signature", HexOf(signature, sizeof signature)}};
    } else {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state state;
        crypto_auth_hmacsha256_init(&state, key.secret.data(), key.secret.size());
        crypto_auth_hmacsha256_update(&state, manifest_hash.data(), manifest_hash.size());
        crypto_auth_hmacsha256_final(&state, mac);
        block = {{"scheme", "hmac-sha256"}, {"mac", HexOf(mac, sizeof mac)}};
    }
    return block.dump();
}

Result<Signature> ParseSignatureBlock(std::string_view text, std::string_view origin) {
    const std::string where = std::string(origin) + ": signature block";
    const nlohmann::json block = nlohmann::json::parse(text, nullptr, false);
    if (block.is_discarded() || !block.is_object() || !block.contains("scheme") || !block["scheme"].is_string()) {
        return Status::Corruption(where + " is not a JSON object with a 'scheme'");
    }
    const auto hex_field = [&](const char* key, size_t bytes) -> Result<std::vector<uint8_t>> {
        if (!block.contains(key) || !block[key].is_string()) {
            return Status::Corruption(where + ": '" + key + "' is missing");
        }
        std::optional<std::vector<uint8_t>> value = FromHex(block[key].get<std::string>());
        if (!value || value->size() != bytes) {
            return Status::Corruption(where + ": '" + key + "' is not " + std::to_string(2 * bytes) + " hex digits");
        }
        return std::move(*value);
    };
    Signature signature;
    const std::string scheme = block["scheme"].get<std::string>();
    if (scheme == "ed25519") {
        signature.scheme = SignatureScheme::kEd25519;
        TP_ASSIGN_OR_RETURN(signature.public_key, hex_field("public_key", crypto_sign_PUBLICKEYBYTES));
        TP_ASSIGN_OR_RETURN(signature.value, hex_field("signature", crypto_sign_BYTES));
    } else if (scheme == "hmac-sha256") {
        signature.scheme = SignatureScheme::kHmacSha256;
        TP_ASSIGN_OR_RETURN(signature.value, hex_field("mac", crypto_auth_hmacsha256_BYTES));
    } else {
        return Status::Unsupported(where + ": scheme '" + scheme + "' is not known (ed25519, hmac-sha256)");
    }
    return signature;
}

std::string KeyFingerprint(const std::vector<uint8_t>& public_key) {
    return ToHex(public_key).substr(0, 16);
}

Result<std::string> CheckSignature(const std::optional<Signature>& signature, const Digest& manifest_hash,
                                   const TrustPolicy& policy, std::string_view origin) {
    EnsureSodiumInitialised();
    const std::string where(origin);
    const bool required = policy.public_key || policy.hmac_key;
    if (!signature) {
        if (required) {
            return Status::Integrity(where + ": the artifact is not signed, but a " +
                                     std::string(policy.public_key ? "signature by the given key" : "HMAC") +
                                     " is required (stripped signature?)");
        }
        return std::string("not signed");
    }
    if (signature->scheme == SignatureScheme::kHmacSha256) {
        if (!policy.hmac_key) {
            if (policy.public_key) {
                return Status::Integrity(where + ": signed with an HMAC, but an Ed25519 signature by key " +
                                         KeyFingerprint(*policy.public_key) + " is required");
            }
            return std::string("HMAC-SHA256 signature present, not checked (pass --hmac-key to check it)");
        }
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state state;
        crypto_auth_hmacsha256_init(&state, policy.hmac_key->data(), policy.hmac_key->size());
        crypto_auth_hmacsha256_update(&state, manifest_hash.data(), manifest_hash.size());
        crypto_auth_hmacsha256_final(&state, mac);
        if (sodium_memcmp(mac, signature->value.data(), sizeof mac) != 0) {
            return Status::Integrity(where + ": the HMAC does not match (another key, or the manifest was changed "
                                             "after signing)");
        }
        return std::string("HMAC-SHA256 signature: valid");
    }
    if (policy.hmac_key && !policy.public_key) {
        return Status::Integrity(where + ": signed with Ed25519 (key " + KeyFingerprint(signature->public_key) +
                                 "), but an HMAC is required");
    }
    if (policy.public_key && *policy.public_key != signature->public_key) {
        return Status::Integrity(where + ": signed by key " + KeyFingerprint(signature->public_key) +
                                 ", not by the required key " + KeyFingerprint(*policy.public_key));
    }
    if (crypto_sign_verify_detached(signature->value.data(), manifest_hash.data(), manifest_hash.size(),
                                    signature->public_key.data()) != 0) {
        return Status::Integrity(where + ": the Ed25519 signature does not match the manifest (the manifest was "
                                         "changed after signing, or the signature was)");
    }
    if (policy.public_key) {
        return "Ed25519 signature by key " + KeyFingerprint(signature->public_key) + ": valid";
    }
    return "Ed25519 signature by key " + KeyFingerprint(signature->public_key) +
           ": valid, but that key was not checked against a trusted one (pass --pubkey)";
}

}  // namespace tenpak::artifact
