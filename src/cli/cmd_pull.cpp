// tenpak pull URL -o OUT [--cache DIR] [--connections N] [--pubkey KEY | --hmac-key SECRET]:
// an artifact over HTTP, mirrored (OUT.tnpk) or unpacked (a folder); and `tenpak pull org/name
// [-o HF_CACHE]`, a Hub-style download into the local HF cache layout.
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/core/progress.h"
#include "tenpak/io/hf_folder.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/remote/hub_download.h"
#include "tenpak/remote/pull.h"

namespace tenpak::cli {
namespace {

struct PullArgs {
    std::string source;
    std::string output;
    std::string cache;
    std::string cache_size = "20GiB";
    std::string pubkey;
    std::string hmac_key;
    size_t connections = 4;
    bool force = false;
    bool json = false;
};

// org/name[@revision] from HF_ENDPOINT into the HF cache layout (-o: the cache folder).
Status RunHubPull(const PullArgs& args) {
    remote::HubDownloadOptions options;
    options.cache_dir = args.output;
    options.progress = !args.json;
    TP_ASSIGN_OR_RETURN(const remote::HubDownloadReport report, remote::DownloadFromHub(args.source, options));
    if (args.json) {
        PrintJson({{"repo", report.repo},
                   {"revision", report.revision},
                   {"commit", report.commit},
                   {"snapshot", report.snapshot},
                   {"files", report.files},
                   {"bytes_downloaded", report.bytes_downloaded},
                   {"files_already_cached", report.files_already_cached}});
        return Status::Ok();
    }
    std::printf("pulled %s@%s (commit %s)\n", report.repo.c_str(), report.revision.c_str(), report.commit.c_str());
    PrintField("snapshot", report.snapshot);
    PrintField("files", WithThousands(report.files.size()) + " (" + WithThousands(report.files_already_cached) +
                            " already cached), " + FormatBytes(report.bytes_downloaded) + " downloaded");
    return Status::Ok();
}

Status RunPull(const PullArgs& args) {
    if (!remote::IsHttpUrl(args.source)) {
        if (io::LooksLikeHubId(args.source)) return RunHubPull(args);
        return Status::InvalidArgument("'" + args.source +
                                       "' is neither an http(s) URL of a .tnpk artifact nor an org/name model id");
    }
    if (args.output.empty()) return Status::InvalidArgument("pull URL needs -o OUT (OUT.tnpk to mirror, else a folder)");
    remote::PullOptions options;
    options.remote.cache_dir = args.cache;
    TP_ASSIGN_OR_RETURN(options.remote.cache_bytes, io::ParseByteSize(args.cache_size));
    if (args.connections == 0 || args.connections > 64) {
        return Status::InvalidArgument("--connections must be 1 to 64, not " + std::to_string(args.connections));
    }
    options.remote.connections = args.connections;
    options.overwrite = args.force;
    options.progress = !args.json;
    if (!args.pubkey.empty()) {
        TP_ASSIGN_OR_RETURN(options.trust.public_key, artifact::ReadEd25519PublicKey(args.pubkey));
    }
    if (!args.hmac_key.empty()) {
        TP_ASSIGN_OR_RETURN(options.trust.hmac_key, artifact::ReadHmacKey(args.hmac_key));
    }

    const auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(const remote::PullReport report, remote::PullArtifact(args.source, args.output, options));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = seconds > 0 ? static_cast<double>(report.bytes_transferred) / seconds : 0.0;
    if (args.json) {
        PrintJson({{"url", args.source},
                   {"output", args.output},
                   {"mode", report.mode},
                   {"id", report.id},
                   {"signature", report.signature},
                   {"artifact_bytes", report.artifact_bytes},
                   {"bytes_written", report.bytes_written},
                   {"bytes_transferred", report.bytes_transferred},
                   {"requests", report.requests},
                   {"chunks", report.chunks},
                   {"chunks_from_cache", report.chunks_from_cache},
                   {"full_download", report.full_download},
                   {"seconds", seconds}});
        return Status::Ok();
    }
    std::printf("pulled %s -> %s (%s)\n", args.source.c_str(), args.output.c_str(), report.mode.c_str());
    PrintField("id", report.id);
    PrintField("signature", report.signature);
    PrintField("transferred", FormatBytes(report.bytes_transferred) + " in " + WithThousands(report.requests) +
                                  " requests, " + FormatBytes(static_cast<uint64_t>(rate)) + "/s");
    PrintField("chunks", WithThousands(report.chunks) + " (" + WithThousands(report.chunks_from_cache) +
                             " from the cache), every one checked");
    PrintField("written", FormatBytes(report.bytes_written));
    if (report.full_download) PrintField("note", "the server ignores Range: the whole artifact was downloaded once");
    return Status::Ok();
}

}  // namespace

void AddPullCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<PullArgs>();
    CLI::App* cmd = app.add_subcommand("pull", "Download a .tnpk artifact over HTTP, or a model from a Hugging Face Hub");
    cmd->add_option("SOURCE", args->source, "http(s) URL of a .tnpk artifact, or org/name[@revision] (HF_ENDPOINT)")
        ->required();
    cmd->add_option("-o,--output", args->output,
                    "URL: OUT.tnpk to mirror the artifact, else a folder to unpack into; org/name: the HF cache "
                    "folder (default $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)");
    cmd->add_option("--cache", args->cache, "Chunk cache folder (default $XDG_CACHE_HOME/tenpak/chunks)");
    cmd->add_option("--cache-size", args->cache_size, "Chunk cache limit; least recently used chunks go first (20GiB)");
    cmd->add_option("--connections", args->connections, "Chunks fetched at once (default 4)");
    cmd->add_option("--pubkey", args->pubkey, "Require an Ed25519 signature by this public key");
    cmd->add_option("--hmac-key", args->hmac_key, "Require an HMAC-SHA256 made with this secret");
    cmd->add_flag("--force", args->force, "Replace an existing non-empty output folder");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunPull(*args); }; });
}

}  // namespace tenpak::cli
