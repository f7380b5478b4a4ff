// tenpak pack SRC -o FILE.tnpk [--sign KEY | --hmac-key SECRET] [--zstd-level N] [--hash H]:
// an HF folder (or a quantized output, a GGUF or llama2.c file, any folder) into one artifact.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/artifact/packer.h"
#include "tenpak/core/progress.h"
#include "tenpak/io/hf_folder.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/model/artifact_metadata.h"

namespace tenpak::cli {
namespace {

struct PackArgs {
    std::string source;
    std::string output;
    std::string sign_key;
    std::string hmac_key;
    std::string hash = "sha256";
    std::string chunk_size = "16MiB";
    int zstd_level = 3;
    size_t threads = 0;
    bool json = false;
};

Status RunPack(const PackArgs& args) {
    artifact::PackOptions options;
    options.zstd_level = args.zstd_level;
    options.threads = args.threads;
    options.progress = !args.json;
    const std::optional<HashAlgorithm> hash = HashAlgorithmFromName(args.hash);
    if (!hash) return Status::InvalidArgument("--hash must be sha256 or blake2b-256, not '" + args.hash + "'");
    options.hash = *hash;
    TP_ASSIGN_OR_RETURN(options.chunk_size, io::ParseByteSize(args.chunk_size));
    if (!args.sign_key.empty() && !args.hmac_key.empty()) {
        return Status::InvalidArgument("--sign and --hmac-key are alternatives: pass one");
    }
    if (!args.sign_key.empty()) {
        TP_ASSIGN_OR_RETURN(options.signing_key, artifact::ReadEd25519SecretKey(args.sign_key));
    } else if (!args.hmac_key.empty()) {
        TP_ASSIGN_OR_RETURN(std::vector<uint8_t> secret, artifact::ReadHmacKey(args.hmac_key));
        options.signing_key = artifact::SigningKey{artifact::SignatureScheme::kHmacSha256, std::move(secret)};
    }
    std::string source = args.source;
    std::error_code ec;
    if (!std::filesystem::exists(source, ec) && io::LooksLikeHubId(source)) {
        TP_ASSIGN_OR_RETURN(source, io::ResolveHubId(source));
    }
    std::string note;
    options.describe_quantization = model::QuantizationDescriber(source, &note);

    const auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(const artifact::PackInput input, artifact::DescribePackInput(source));
    TP_ASSIGN_OR_RETURN(const artifact::PackReport report, artifact::Pack(input, args.output, options));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double ratio =
        report.stored_bytes == 0 ? 0.0 : static_cast<double>(report.raw_bytes) / static_cast<double>(report.stored_bytes);

    if (args.json) {
        nlohmann::ordered_json out = {{"source", source},
                                      {"source_format", input.source},
                                      {"output", args.output},
                                      {"id", report.id},
                                      {"files", report.files},
                                      {"tensors", report.tensors},
                                      {"chunks", report.chunks},
                                      {"duplicate_chunks", report.duplicate_chunks},
                                      {"compressed_chunks", report.compressed_chunks},
                                      {"raw_bytes", report.raw_bytes},
                                      {"stored_bytes", report.stored_bytes},
                                      {"compression_ratio", ratio},
                                      {"signed", report.signed_artifact},
                                      {"seconds", seconds}};
        if (!note.empty()) out["notes"] = {note};
        PrintJson(out);
        return Status::Ok();
    }
    std::printf("packed %s (%s) -> %s\n", source.c_str(), input.source.c_str(), args.output.c_str());
    PrintField("id", report.id);
    PrintField("contents", WithThousands(report.files) + " files, " + WithThousands(report.tensors) + " tensors");
    PrintField("chunks", WithThousands(report.chunks) + " stored (" + WithThousands(report.compressed_chunks) +
                             " compressed), " + WithThousands(report.duplicate_chunks) + " duplicates stored once");
    char line[128];
    std::snprintf(line, sizeof line, " (ratio %.3f), %.2f s", ratio, seconds);
    PrintField("size", FormatBytes(report.raw_bytes) + " -> " + FormatBytes(report.stored_bytes) + line);
    PrintField("signed", report.signed_artifact ? (args.sign_key.empty() ? "hmac-sha256" : "ed25519") : "no");
    if (!note.empty()) PrintField("note", note);
    return Status::Ok();
}

}  // namespace

void AddPackCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<PackArgs>();
    CLI::App* cmd = app.add_subcommand("pack", "Pack a model folder or file into a chunked, signed .tnpk artifact");
    cmd->add_option("SRC", args->source, "HF folder (also quantized outputs), .gguf, llama2.c .bin, or org/name")
        ->required();
    cmd->add_option("-o,--output", args->output, "The .tnpk file to write")->required();
    cmd->add_option("--sign", args->sign_key, "Sign with this Ed25519 secret key (from tenpak keygen)");
    cmd->add_option("--hmac-key", args->hmac_key, "Sign with HMAC-SHA256 using the secret in this file");
    cmd->add_option("--zstd-level", args->zstd_level, "zstd level for chunks, 0 for none (default 3)");
    cmd->add_option("--hash", args->hash, "Chunk and manifest hash: sha256 (default) or blake2b-256");
    cmd->add_option("--chunk-size", args->chunk_size, "Largest chunk, raw bytes (default 16MiB)");
    cmd->add_option("--threads", args->threads, "Threads for hashing and compression (default: all cores)");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunPack(*args); }; });
}

}  // namespace tenpak::cli
