#include "cli/artifact_summary.h"

#include "cli/output.h"
#include "tenpak/core/progress.h"

namespace tenpak::cli {
namespace {

std::string SignatureText(const artifact::Artifact& a) {
    if (!a.signature()) return "none";
    if (a.signature()->scheme == artifact::SignatureScheme::kHmacSha256) return "hmac-sha256";
    return "ed25519, key " + artifact::KeyFingerprint(a.signature()->public_key);
}

uint64_t CompressedChunks(const artifact::Manifest& m) {
    uint64_t n = 0;
    for (const artifact::ChunkEntry& chunk : m.chunks) n += chunk.compression == artifact::Compression::kZstd;
    return n;
}

}  // namespace

nlohmann::ordered_json ArtifactSummaryJson(const artifact::Artifact& a) {
    const artifact::Manifest& m = a.manifest();
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const artifact::FileEntry& file : m.files) files.push_back({{"name", file.name}, {"size", file.size}});
    const uint64_t stored = a.bytes().size();
    return {{"path", a.origin()},
            {"id", a.id()},
            {"version", std::to_string(a.footer().major) + "." + std::to_string(a.footer().minor)},
            {"writer", m.writer},
            {"source", m.source},
            {"hash", HashAlgorithmName(m.hash)},
            {"chunk_size", m.chunk_size},
            {"chunks", m.chunks.size()},
            {"compressed_chunks", CompressedChunks(m)},
            {"tensors", m.tensors.size()},
            {"raw_bytes", m.RawBytes()},
            {"stored_bytes", stored},
            {"compression_ratio", stored == 0 ? 0.0 : static_cast<double>(m.RawBytes()) / static_cast<double>(stored)},
            {"signature", SignatureText(a)},
            {"files", files}};
}

void PrintArtifactSummary(const artifact::Artifact& a) {
    const artifact::Manifest& m = a.manifest();
    const uint64_t stored = a.bytes().size();
    PrintField("artifact", a.origin());
    PrintField("id", a.id());
    PrintField("packed from", m.source + " (by " + (m.writer.empty() ? "unknown" : m.writer) + ")");
    PrintField("chunks", WithThousands(m.chunks.size()) + " of at most " + FormatBytes(m.chunk_size) + ", " +
                             WithThousands(CompressedChunks(m)) + " zstd-compressed");
    char ratio[64];
    std::snprintf(ratio, sizeof ratio, "%.3f", stored == 0 ? 0.0 : static_cast<double>(m.RawBytes()) / stored);
    PrintField("size", FormatBytes(m.RawBytes()) + " unpacked, " + FormatBytes(stored) + " stored (ratio " + ratio + ")");
    PrintField("signature", SignatureText(a));
    std::string files;
    for (const artifact::FileEntry& file : m.files) files += (files.empty() ? "" : ", ") + file.name;
    PrintField("files", files);
    PrintField("tensors", WithThousands(m.tensors.size()));
}

}  // namespace tenpak::cli
