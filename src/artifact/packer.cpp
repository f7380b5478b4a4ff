#include "tenpak/artifact/packer.h"

#include <zstd.h>

#include <algorithm>
#include <map>
#include <optional>

#include "tenpak/artifact/manifest.h"
#include "tenpak/core/progress.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/io/atomic_output.h"

#ifndef TENPAK_VERSION
#define TENPAK_VERSION "unknown"
#endif

namespace tenpak::artifact {
namespace {

// One chunk-sized range of an input file, and what hashing and compressing it gave.
struct ChunkJob {
    const InputFile* file = nullptr;
    uint64_t offset = 0;
    uint64_t size = 0;
    Digest hash{};
    std::vector<std::byte> compressed;  // empty: store raw
};

// Keeps a zstd frame only when it saves at least 1/64 of the raw bytes; otherwise the chunk is
// stored as is, which a local reader can map without a copy.
bool CompressionPays(uint64_t raw, uint64_t compressed) {
    return compressed <= raw - raw / 64 && compressed < raw;
}

class ChunkWriter {
public:
    ChunkWriter(io::AtomicFile& out, const PackOptions& options, PackReport& report, Manifest& manifest)
        : out_(out), options_(options), report_(report), manifest_(manifest),
          pool_(options.threads), contexts_(pool_.size()) {}
    ~ChunkWriter() {
        for (ZSTD_CCtx* context : contexts_) ZSTD_freeCCtx(context);
    }

    // Stores the chunks of [offset, offset + size) of `file` and returns their indices.
    // `progress` may be null.
    Result<std::vector<uint32_t>> Store(const InputFile& file, uint64_t offset, uint64_t size, Progress* progress) {
        std::vector<uint32_t> indices;
        std::vector<ChunkJob> batch;
        const size_t batch_size = 2 * pool_.size();
        for (uint64_t at = 0; at < size; at += options_.chunk_size) {
            batch.push_back({&file, offset + at, std::min(options_.chunk_size, size - at), {}, {}});
            if (batch.size() == batch_size || at + options_.chunk_size >= size) {
                TP_RETURN_IF_ERROR(Flush(batch, indices, progress));
                batch.clear();
            }
        }
        return indices;
    }

    // Zeros up to the next chunk boundary.
    Status Pad() {
        static constexpr std::array<std::byte, kChunkAlignment> kZeros{};
        const uint64_t gap = AlignChunk(out_.size()) - out_.size();
        return gap == 0 ? Status::Ok() : out_.Append(std::span<const std::byte>(kZeros.data(), gap));
    }

private:
    void Encode(ChunkJob& job, size_t thread) {
        const std::span<const std::byte> raw = job.file->file->bytes().subspan(job.offset, job.size);
        job.hash = HashBytes(options_.hash, raw);
        if (options_.zstd_level <= 0) return;
        if (contexts_[thread] == nullptr) contexts_[thread] = ZSTD_createCCtx();
        std::vector<std::byte> frame(ZSTD_compressBound(raw.size()));
        const size_t n = ZSTD_compressCCtx(contexts_[thread], frame.data(), frame.size(), raw.data(), raw.size(),
                                           options_.zstd_level);
        if (ZSTD_isError(n) || !CompressionPays(raw.size(), n)) return;
        frame.resize(n);
        job.compressed = std::move(frame);
    }

    Status Flush(std::vector<ChunkJob>& batch, std::vector<uint32_t>& indices, Progress* progress) {
        pool_.ParallelFor(batch.size(), [&](size_t begin, size_t end, size_t thread) {
            for (size_t i = begin; i < end; ++i) Encode(batch[i], thread);
        });
        for (ChunkJob& job : batch) {
            if (progress != nullptr) progress->Advance(job.size);
            const auto [it, inserted] = by_hash_.emplace(job.hash, static_cast<uint32_t>(manifest_.chunks.size()));
            indices.push_back(it->second);
            job.file->file->Release(job.offset, job.size);
            if (!inserted) {
                ++report_.duplicate_chunks;
                continue;
            }
            ChunkEntry chunk;
            chunk.hash = job.hash;
            chunk.offset = AlignChunk(out_.size());
            chunk.raw_size = job.size;
            const bool compressed = !job.compressed.empty();
            chunk.compression = compressed ? Compression::kZstd : Compression::kNone;
            chunk.stored_size = compressed ? job.compressed.size() : job.size;
            TP_RETURN_IF_ERROR(Pad());
            TP_RETURN_IF_ERROR(out_.Append(compressed ? std::span<const std::byte>(job.compressed)
                                                      : job.file->file->bytes().subspan(job.offset, job.size)));
            report_.compressed_chunks += compressed ? 1 : 0;
            manifest_.chunks.push_back(chunk);
        }
        return Status::Ok();
    }

    io::AtomicFile& out_;
    const PackOptions& options_;
    PackReport& report_;
    Manifest& manifest_;
    ThreadPool pool_;
    std::vector<ZSTD_CCtx*> contexts_;
    std::map<Digest, uint32_t> by_hash_;
};

Status ValidateOptions(const PackOptions& options) {
    if (options.zstd_level < 0 || options.zstd_level > ZSTD_maxCLevel()) {
        return Status::InvalidArgument("--zstd-level must be 0 (no compression) to " + std::to_string(ZSTD_maxCLevel()) +
                                       ", not " + std::to_string(options.zstd_level));
    }
    if (options.chunk_size < kChunkAlignment || options.chunk_size > kMaxChunkSize ||
        options.chunk_size % kChunkAlignment != 0) {
        return Status::InvalidArgument("the chunk size must be a multiple of 64 bytes up to 1 GiB, not " +
                                       std::to_string(options.chunk_size));
    }
    return Status::Ok();
}

}  // namespace

Result<PackReport> Pack(const PackInput& input, const std::string& out_path, const PackOptions& options) {
    TP_RETURN_IF_ERROR(ValidateOptions(options));
    TP_ASSIGN_OR_RETURN(io::AtomicFile out, io::AtomicFile::Create(out_path));
    const std::array<std::byte, kHeaderSize> header = EncodeHeader();
    TP_RETURN_IF_ERROR(out.Append(header));

    Manifest manifest;
    manifest.hash = options.hash;
    manifest.chunk_size = options.chunk_size;
    manifest.source = input.source;
    manifest.writer = std::string("tenpak ") + TENPAK_VERSION;
    PackReport report;
    std::map<std::string, std::vector<uint32_t>, std::less<>> tensor_chunks;
    uint64_t total = 0;
    for (const InputFile& file : input.files) total += file.file->size();
    {
        std::optional<Progress> progress;
        if (options.progress) progress.emplace("packing " + out_path, total, Progress::Unit::kBytes);
        Progress* bar = progress ? &*progress : nullptr;
        ChunkWriter writer(out, options, report, manifest);
        for (const InputFile& file : input.files) {
            if (bar != nullptr) bar->SetDetail(file.name);
            FileEntry entry;
            entry.name = file.name;
            entry.size = file.file->size();
            for (const InputPiece& piece : file.pieces) {
                TP_ASSIGN_OR_RETURN(std::vector<uint32_t> chunks, writer.Store(file, piece.offset, piece.size, bar));
                Segment segment;
                if (piece.tensor.empty()) {
                    segment.chunks = std::move(chunks);
                } else {
                    segment.tensor = piece.tensor;
                    tensor_chunks[piece.tensor] = std::move(chunks);
                }
                entry.segments.push_back(std::move(segment));
            }
            manifest.files.push_back(std::move(entry));
        }
        TP_RETURN_IF_ERROR(writer.Pad());
    }
    for (const io::TensorInfo& info : input.tensors) {
        TensorEntry tensor;
        tensor.info = info;
        tensor.chunks = tensor_chunks.at(info.name);
        if (options.describe_quantization) tensor.quantization = options.describe_quantization(info);
        manifest.tensors.push_back(std::move(tensor));
    }

    Footer footer;
    footer.manifest_offset = out.size();
    const std::string manifest_text = SerializeManifest(manifest);
    footer.manifest_size = manifest_text.size();
    footer.hash = options.hash;
    footer.manifest_hash = HashBytes(options.hash, std::as_bytes(std::span(manifest_text)));
    TP_RETURN_IF_ERROR(out.Append(manifest_text));
    if (options.signing_key) {
        const std::string block = SignManifestHash(footer.manifest_hash, *options.signing_key);
        footer.signature_size = block.size();
        TP_RETURN_IF_ERROR(out.Append(block));
    }
    TP_RETURN_IF_ERROR(out.Append(EncodeFooter(footer)));
    report.stored_bytes = out.size();
    TP_RETURN_IF_ERROR(out.Commit());

    report.id = std::string(HashAlgorithmName(options.hash)) + ":" + ToHex(footer.manifest_hash);
    report.raw_bytes = total;
    report.chunks = manifest.chunks.size();
    report.tensors = manifest.tensors.size();
    report.files = manifest.files.size();
    report.signed_artifact = options.signing_key.has_value();
    return report;
}

}  // namespace tenpak::artifact
