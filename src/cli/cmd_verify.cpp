// tenpak verify FILE.tnpk [--pubkey KEY.pub | --hmac-key SECRET]: the signature, then every chunk.
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/artifact/unpack.h"
#include "tenpak/core/progress.h"

namespace tenpak::cli {
namespace {

struct VerifyArgs {
    std::string artifact;
    std::string pubkey;
    std::string hmac_key;
    bool json = false;
};

Status RunVerify(const VerifyArgs& args) {
    artifact::TrustPolicy policy;
    if (!args.pubkey.empty() && !args.hmac_key.empty()) {
        return Status::InvalidArgument("--pubkey and --hmac-key are alternatives: pass one");
    }
    if (!args.pubkey.empty()) {
        TP_ASSIGN_OR_RETURN(policy.public_key, artifact::ReadEd25519PublicKey(args.pubkey));
    }
    if (!args.hmac_key.empty()) {
        TP_ASSIGN_OR_RETURN(policy.hmac_key, artifact::ReadHmacKey(args.hmac_key));
    }
    TP_ASSIGN_OR_RETURN(const std::shared_ptr<const artifact::Artifact> packed, artifact::Artifact::OpenFile(args.artifact));
    TP_ASSIGN_OR_RETURN(const artifact::VerifyReport report, artifact::Verify(*packed, policy, !args.json));
    if (args.json) {
        PrintJson({{"artifact", args.artifact},
                   {"id", report.id},
                   {"ok", true},
                   {"signature", report.signature},
                   {"chunks", report.chunks},
                   {"stored_bytes", report.stored_bytes}});
        return Status::Ok();
    }
    std::printf("%s: OK\n", args.artifact.c_str());
    PrintField("id", report.id);
    PrintField("signature", report.signature);
    PrintField("chunks", WithThousands(report.chunks) + " checked (" + FormatBytes(report.stored_bytes) + ")");
    return Status::Ok();
}

}  // namespace

void AddVerifyCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<VerifyArgs>();
    CLI::App* cmd = app.add_subcommand("verify", "Check a .tnpk artifact's signature and every chunk");
    cmd->add_option("FILE", args->artifact, "The .tnpk artifact")->required();
    cmd->add_option("--pubkey", args->pubkey, "Require an Ed25519 signature by this public key (NAME.pub)");
    cmd->add_option("--hmac-key", args->hmac_key, "Require an HMAC-SHA256 made with the secret in this file");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunVerify(*args); }; });
}

}  // namespace tenpak::cli
