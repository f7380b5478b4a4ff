#include "tenpak/artifact/packer.h"

#include <zstd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "tenpak/artifact/manifest.h"
#include "tenpak/core/progress.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/io/atomic_output.h"

#ifndef TENPAK_VERSION
#define TENPAK_VERSION "unknown"
#endif

namespace tenpak::artifact {
namespace {

// One chunk-sized run of bytes, and what hashing and compressing it gave.
struct ChunkJob {
    std::span<const std::byte> raw;
    Digest hash{};
    std::vector<std::byte> compressed;  // empty: store raw
};

// Keeps a zstd frame only when it saves at least 1/64 of the raw bytes; otherwise the chunk is
// stored as is, which a local reader can map without a copy.
bool CompressionPays(uint64_t raw, uint64_t compressed) {
    return compressed <= raw - raw / 64 && compressed < raw;
}

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

struct ArtifactWriter::Impl {
    Impl(io::AtomicFile output, const PackOptions& opts)
        : out(std::move(output)), options(opts), pool(opts.threads), contexts(pool.size()) {}
    ~Impl() {
        for (ZSTD_CCtx* context : contexts) ZSTD_freeCCtx(context);
    }

    // Hashes and compresses the chunks of `bytes` (several at once), stores the new ones, and returns
    // the indices of all of them.
    Result<std::vector<uint32_t>> Store(std::span<const std::byte> bytes) {
        std::vector<uint32_t> indices;
        std::vector<ChunkJob> batch;
        const size_t batch_size = 2 * pool.size();
        for (uint64_t at = 0; at < bytes.size(); at += options.chunk_size) {
            batch.push_back({bytes.subspan(at, std::min<uint64_t>(options.chunk_size, bytes.size() - at)), {}, {}});
            if (batch.size() == batch_size || at + options.chunk_size >= bytes.size()) {
                TP_RETURN_IF_ERROR(Flush(batch, indices));
                batch.clear();
            }
        }
        return indices;
    }

    void Encode(ChunkJob& job, size_t thread) {
        job.hash = HashBytes(options.hash, job.raw);
        if (options.zstd_level <= 0) return;
        if (contexts[thread] == nullptr) contexts[thread] = ZSTD_createCCtx();
        std::vector<std::byte> frame(ZSTD_compressBound(job.raw.size()));
        const size_t n = ZSTD_compressCCtx(contexts[thread], frame.data(), frame.size(), job.raw.data(), job.raw.size(),
                                           options.zstd_level);
        if (ZSTD_isError(n) || !CompressionPays(job.raw.size(), n)) return;
        frame.resize(n);
        job.compressed = std::move(frame);
    }

    Status Flush(std::vector<ChunkJob>& batch, std::vector<uint32_t>& indices) {
        pool.ParallelFor(batch.size(), [&](size_t begin, size_t end, size_t thread) {
            for (size_t i = begin; i < end; ++i) Encode(batch[i], thread);
        });
        for (ChunkJob& job : batch) {
            if (progress) progress->Advance(job.raw.size());
            if (release) release(job.raw);
            const auto [it, inserted] = by_hash.emplace(job.hash, static_cast<uint32_t>(manifest.chunks.size()));
            indices.push_back(it->second);
            if (!inserted) {
                ++report.duplicate_chunks;
                continue;
            }
            ChunkEntry chunk;
            chunk.hash = job.hash;
            chunk.offset = AlignChunk(out.size());
            chunk.raw_size = job.raw.size();
            const bool compressed = !job.compressed.empty();
            chunk.compression = compressed ? Compression::kZstd : Compression::kNone;
            chunk.stored_size = compressed ? job.compressed.size() : job.raw.size();
            TP_RETURN_IF_ERROR(Pad());
            TP_RETURN_IF_ERROR(out.Append(compressed ? std::span<const std::byte>(job.compressed) : job.raw));
            report.compressed_chunks += compressed ? 1 : 0;
            manifest.chunks.push_back(chunk);
        }
        return Status::Ok();
    }

    // Zeros up to the next chunk boundary.
    Status Pad() {
        static constexpr std::array<std::byte, kChunkAlignment> kZeros{};
        const uint64_t gap = AlignChunk(out.size()) - out.size();
        return gap == 0 ? Status::Ok() : out.Append(std::span<const std::byte>(kZeros.data(), gap));
    }

    Status NeedFile(const char* what) const {
        return file ? Status::Ok() : Status::Internal(std::string(what) + " outside BeginFile/EndFile");
    }

    io::AtomicFile out;
    PackOptions options;
    ThreadPool pool;
    std::vector<ZSTD_CCtx*> contexts;
    std::map<Digest, uint32_t> by_hash;
    Manifest manifest;
    // Names already taken (the manifest's lists are searched linearly; a model has thousands of tensors).
    std::set<std::string, std::less<>> file_names;
    std::set<std::string, std::less<>> tensor_names;
    PackReport report;
    std::optional<FileEntry> file;
    std::optional<Progress> progress;
    std::function<void(std::span<const std::byte>)> release;
};

ArtifactWriter::ArtifactWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArtifactWriter::~ArtifactWriter() = default;

Result<std::unique_ptr<ArtifactWriter>> ArtifactWriter::Create(const std::string& out_path, const PackOptions& options,
                                                               std::string source, uint64_t progress_total) {
    TP_RETURN_IF_ERROR(ValidateOptions(options));
    TP_ASSIGN_OR_RETURN(io::AtomicFile out, io::AtomicFile::Create(out_path));
    TP_RETURN_IF_ERROR(out.Append(EncodeHeader()));
    auto impl = std::make_unique<Impl>(std::move(out), options);
    impl->manifest.hash = options.hash;
    impl->manifest.chunk_size = options.chunk_size;
    impl->manifest.source = std::move(source);
    impl->manifest.writer = std::string("tenpak ") + TENPAK_VERSION;
    if (options.progress && progress_total > 0) {
        impl->progress.emplace("packing " + out_path, progress_total, Progress::Unit::kBytes);
    }
    return std::unique_ptr<ArtifactWriter>(new ArtifactWriter(std::move(impl)));
}

Status ArtifactWriter::BeginFile(const std::string& name) {
    if (impl_->file) return Status::Internal("BeginFile('" + name + "') before EndFile");
    if (!IsSafeRelativePath(name)) return Status::InvalidArgument("'" + name + "' is not a safe relative file name");
    if (!impl_->file_names.insert(name).second) return Status::InvalidArgument("file '" + name + "' added twice");
    impl_->file.emplace();
    impl_->file->name = name;
    if (impl_->progress) impl_->progress->SetDetail(name);
    return Status::Ok();
}

Status ArtifactWriter::AddBytes(std::span<const std::byte> bytes) {
    TP_RETURN_IF_ERROR(impl_->NeedFile("AddBytes"));
    Segment segment;
    TP_ASSIGN_OR_RETURN(segment.chunks, impl_->Store(bytes));
    impl_->file->size += bytes.size();
    impl_->file->segments.push_back(std::move(segment));
    return Status::Ok();
}

Status ArtifactWriter::AddTensor(const io::TensorInfo& info, std::span<const std::byte> bytes,
                                 nlohmann::json quantization) {
    TP_RETURN_IF_ERROR(impl_->NeedFile("AddTensor"));
    if (bytes.size() != info.nbytes) {
        return Status::Internal("tensor '" + info.name + "': " + std::to_string(bytes.size()) + " bytes given for " +
                                std::to_string(info.nbytes));
    }
    if (!impl_->tensor_names.insert(info.name).second) {
        return Status::InvalidArgument("tensor '" + info.name + "' added twice; an artifact's tensor names must be unique");
    }
    TensorEntry tensor;
    tensor.info = info;
    TP_ASSIGN_OR_RETURN(tensor.chunks, impl_->Store(bytes));
    tensor.quantization = std::move(quantization);
    impl_->manifest.tensors.push_back(std::move(tensor));
    Segment segment;
    segment.tensor = info.name;
    impl_->file->size += bytes.size();
    impl_->file->segments.push_back(std::move(segment));
    return Status::Ok();
}

Status ArtifactWriter::EndFile() {
    TP_RETURN_IF_ERROR(impl_->NeedFile("EndFile"));
    impl_->report.raw_bytes += impl_->file->size;
    impl_->manifest.files.push_back(std::move(*impl_->file));
    impl_->file.reset();
    return Status::Ok();
}

void ArtifactWriter::SetManifestExtra(const std::string& key, nlohmann::json value) {
    impl_->manifest.extra[key] = std::move(value);
}

void ArtifactWriter::SetReleaseHook(std::function<void(std::span<const std::byte>)> hook) {
    impl_->release = std::move(hook);
}

Result<PackReport> ArtifactWriter::Finish() {
    if (impl_->file) return Status::Internal("Finish() before EndFile");
    Impl& w = *impl_;
    if (w.progress) w.progress->Finish();
    TP_RETURN_IF_ERROR(w.Pad());
    Footer footer;
    footer.manifest_offset = w.out.size();
    const std::string manifest_text = SerializeManifest(w.manifest);
    footer.manifest_size = manifest_text.size();
    footer.hash = w.options.hash;
    footer.manifest_hash = HashBytes(w.options.hash, std::as_bytes(std::span(manifest_text)));
    TP_RETURN_IF_ERROR(w.out.Append(manifest_text));
    if (w.options.signing_key) {
        const std::string block = SignManifestHash(footer.manifest_hash, *w.options.signing_key);
        footer.signature_size = block.size();
        TP_RETURN_IF_ERROR(w.out.Append(block));
    }
    TP_RETURN_IF_ERROR(w.out.Append(EncodeFooter(footer)));
    w.report.stored_bytes = w.out.size();
    TP_RETURN_IF_ERROR(w.out.Commit());
    w.report.id = std::string(HashAlgorithmName(w.options.hash)) + ":" + ToHex(footer.manifest_hash);
    w.report.chunks = w.manifest.chunks.size();
    w.report.tensors = w.manifest.tensors.size();
    w.report.files = w.manifest.files.size();
    w.report.signed_artifact = w.options.signing_key.has_value();
    return w.report;
}

Result<PackReport> Pack(const PackInput& input, const std::string& out_path, const PackOptions& options) {
    uint64_t total = 0;
    for (const InputFile& file : input.files) total += file.file->size();
    TP_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactWriter> writer,
                        ArtifactWriter::Create(out_path, options, input.source, total));
    std::map<std::string_view, const io::TensorInfo*> infos;
    for (const io::TensorInfo& info : input.tensors) infos.emplace(info.name, &info);
    for (const InputFile& file : input.files) {
        // Streaming: each chunk's pages leave the process once it is stored.
        writer->SetReleaseHook([&file](std::span<const std::byte> done) {
            file.file->Release(static_cast<uint64_t>(done.data() - file.file->bytes().data()), done.size());
        });
        TP_RETURN_IF_ERROR(writer->BeginFile(file.name));
        for (const InputPiece& piece : file.pieces) {
            const std::span<const std::byte> bytes = file.file->bytes().subspan(piece.offset, piece.size);
            if (piece.tensor.empty()) {
                TP_RETURN_IF_ERROR(writer->AddBytes(bytes));
            } else {
                const io::TensorInfo& info = *infos.at(piece.tensor);
                TP_RETURN_IF_ERROR(writer->AddTensor(
                    info, bytes, options.describe_quantization ? options.describe_quantization(info) : nullptr));
            }
        }
        TP_RETURN_IF_ERROR(writer->EndFile());
    }
    return writer->Finish();
}

}  // namespace tenpak::artifact
