#include "tenpak/optimize/optimizer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "tenpak/optimize/candidate_cache.h"

namespace tenpak::optimize {
namespace {
namespace fs = std::filesystem;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

uint64_t FolderBytes(const std::string& dir) {
    uint64_t total = 0;
    std::error_code error;
    for (const auto& entry : fs::recursive_directory_iterator(dir, error)) {
        if (entry.is_regular_file(error)) total += entry.file_size(error);
    }
    return total;
}

std::string OptionsText(const quant::QuantizeRequest& r) {
    const quant::QuantOptions& o = r.options;
    return std::string(quant::OutputFormatName(r.format)) + "|" + std::string(quant::MethodName(o.method)) +
           "|bits=" + std::to_string(o.bits) + "|group=" + std::to_string(o.group_size) +
           "|sym=" + std::to_string(o.symmetric) + "|dq=" + std::to_string(o.double_quant) +
           "|act=" + std::to_string(o.act_order) + "|static=" + std::to_string(o.static_groups) +
           "|damp=" + std::to_string(o.damp) + "|int8_threshold=" + std::to_string(o.int8_threshold);
}

std::string MeasureText(const MeasureOptions& m, const std::string& eval_digest) {
    return "text=" + eval_digest + "|ctx=" + std::to_string(m.ctx) + "|windows=" + std::to_string(m.max_windows) +
           "|prompt=" + std::to_string(m.latency.prompt_tokens) + "|gen=" + std::to_string(m.latency.gen_tokens) +
           "|reps=" + std::to_string(m.latency.repetitions) + "|threads=" + std::to_string(m.threads);
}

// The measurement of the checkpoint at `path`, from the cache when there.
Result<Measurement> CachedMeasurement(const CandidateCache& cache, const Digest& key, const std::string& path,
                                      const std::string& record, const OptimizeRequest& request, bool& cached) {
    cached = false;
    if (!request.refresh) {
        if (std::optional<nlohmann::json> json = cache.Load(key, record)) {
            if (Result<Measurement> m = Measurement::FromJson(*json); m.ok()) {
                cached = true;
                return m;
            }
        }
    }
    TP_ASSIGN_OR_RETURN(Measurement m, MeasureModel(path, request.measure));
    TP_RETURN_IF_ERROR(cache.Store(key, record, m.ToJson()));
    return m;
}

struct PresetJob {
    const model::Model& model;
    const std::string& model_digest;
    const std::string& calib_digest;
    const std::string& measure_record;
    const CandidateCache& cache;
    const OptimizeRequest& request;
};

// Quantizes (or finds in the cache) and measures one preset. Errors of the candidate itself go into
// `out.error`; only cache I/O failures are returned.
Status RunPreset(const PresetJob& job, const std::string& preset, const std::string& step, CandidateResult& out) {
    out.preset = preset;
    TP_ASSIGN_OR_RETURN(quant::QuantizeRequest q, quant::PresetRequest(preset));
    q.calibration = job.request.calibration;
    q.threads = static_cast<int>(job.request.measure.threads);
    q.progress = job.request.progress;
    q.overwrite = true;
    if (std::optional<std::string> note = quant::FitPresetGroupSize(q, job.model.config)) out.notes.push_back(*note);
    out.family = FamilyOf(q);
    out.format = std::string(quant::OutputFormatName(q.format));
    out.method = q.format == quant::OutputFormat::kHf ? "fp16" : std::string(quant::MethodName(q.options.method));
    const bool calibrated = quant::IsCalibrated(q.options.method);
    const std::string calibration =
        calibrated ? job.calib_digest + "|samples=" + std::to_string(q.calibration.samples) +
                         "|seqlen=" + std::to_string(q.calibration.seqlen) + "|seed=" + std::to_string(q.calibration.seed)
                   : "none";
    const std::string options = OptionsText(q);
    const Digest key = KeyOf({{"schema", "tenpak-optimize-1"},
                              {"tenpak", TENPAK_VERSION},
                              {"model", job.model_digest},
                              {"options", options},
                              {"calibration", calibration}});
    out.path = job.cache.ModelDir(key);

    std::optional<nlohmann::json> record;
    if (!job.request.refresh && fs::is_directory(out.path)) record = job.cache.Load(key, "quantize");
    if (record && record->contains("tensor_bytes")) {
        out.quantize_cached = true;
        if (job.request.on_stage) job.request.on_stage(step + " " + preset + ": quantized (cached)");
    } else {
        if (job.request.on_stage) job.request.on_stage(step + " " + preset + ": quantizing (" + out.method + ", " + out.format + ")");
        std::error_code error;
        fs::create_directories(job.cache.EntryDir(key), error);
        if (error) return Status::IOError("cannot create the cache folder " + job.cache.EntryDir(key) + ": " + error.message());
        Result<quant::QuantizeReport> made = quant::QuantizeModel(job.model, q, out.path);
        if (!made.ok() && made.status().code() == StatusCode::kIOError) return made.status();
        if (!made.ok()) {
            out.error = made.status().message();
            return Status::Ok();
        }
        record = nlohmann::json{{"preset", preset},
                                {"options", options},
                                {"tensor_bytes", made->bytes_after},
                                {"bytes_before", made->bytes_before},
                                {"kept_layers", made->kept.size()},
                                {"seconds", made->seconds}};
        TP_RETURN_IF_ERROR(job.cache.Store(key, "quantize", *record));
    }
    out.tensor_bytes = record->value("tensor_bytes", uint64_t{0});
    const uint64_t before = record->value("bytes_before", uint64_t{0});
    out.compression = out.tensor_bytes ? static_cast<double>(before) / static_cast<double>(out.tensor_bytes) : 0;
    out.kept_layers = record->value("kept_layers", int64_t{0});
    out.quantize_seconds = record->value("seconds", 0.0);
    out.disk_bytes = FolderBytes(out.path);
    if (out.kept_layers > 0) out.notes.push_back(std::to_string(out.kept_layers) + " linear layers kept in F16 (the format cannot hold their shape)");

    if (job.request.on_stage) job.request.on_stage(step + " " + preset + ": measuring perplexity and latency");
    Result<Measurement> m = CachedMeasurement(job.cache, key, out.path, job.measure_record, job.request, out.measure_cached);
    if (!m.ok()) {
        out.error = m.status().message();
        return Status::Ok();
    }
    out.measured = *m;
    return Status::Ok();
}

std::vector<Entry> ProjectAll(const OptimizeResult& result, const OptimizeRequest& request,
                              const std::vector<GpuProfile>& gpus) {
    std::vector<Entry> entries;
    for (const CandidateResult& c : result.candidates) {
        if (!c.error.empty()) continue;
        CandidateFigures figures;
        figures.family = c.family;
        figures.weight_bytes = c.tensor_bytes;
        figures.decode_bytes_per_token = c.measured.decode_bytes_per_token;
        figures.latency_spread =
            c.measured.latency_p50_ms > 0 ? c.measured.latency_p95_ms / c.measured.latency_p50_ms : 1.0;
        for (const GpuProfile& gpu : gpus) {
            const Result<KernelEfficiency> kernel = EfficiencyOn(c.family, gpu);
            if (!kernel.ok()) continue;
            for (int count : GpuCounts(request.assumptions)) {
                const Projection p = Project(figures, *kernel, result.shape, request.workload, gpu, count, request.assumptions);
                Entry e;
                e.preset = c.preset;
                e.hardware = gpu.name;
                e.gpu_count = count;
                e.ppl = c.measured.ppl;
                e.ppl_delta_pct = c.ppl_delta_pct;
                e.bytes = c.disk_bytes;
                e.compression = c.compression;
                e.tokens_per_s = p.tokens_per_s;
                e.latency_p50_ms = p.latency_p50_ms;
                e.latency_p95_ms = p.latency_p95_ms;
                e.ttft_ms = p.ttft_ms;
                e.cost_per_1m_tokens = p.cost_per_1m_tokens;
                e.memory_needed_gb = p.memory_needed_gb;
                e.memory_usable_gb = p.memory_usable_gb;
                e.fits = p.fits;
                entries.push_back(e);
            }
        }
    }
    return entries;
}

}  // namespace

std::string FamilyOf(const quant::QuantizeRequest& request) {
    switch (request.format) {
        case quant::OutputFormat::kHf:
            return "fp16";
        case quant::OutputFormat::kGptq:
            return request.options.bits == 4 ? "gptq4" : "gptq3";
        case quant::OutputFormat::kAwq:
            return "awq4";
        case quant::OutputFormat::kBnb:
            return request.options.method == quant::Method::kInt8 ? "bnb8" : "bnb4";
        case quant::OutputFormat::kGguf:
            break;
    }
    return "fp16";
}

Status CheckOptimizeRequest(const OptimizeRequest& request) {
    TP_RETURN_IF_ERROR(ValidateConstraints(request.constraints));
    for (const std::string& preset : request.presets) TP_RETURN_IF_ERROR(quant::PresetRequest(preset).status());
    if (request.workload.prompt_tokens < 1 || request.workload.output_tokens < 1) {
        return Status::InvalidArgument("--prompt-tokens and --output-tokens must be at least 1");
    }
    if (request.measure.ctx < 4) return Status::InvalidArgument("--ctx must be at least 4");
    if (request.measure.max_windows < 0) return Status::InvalidArgument("--eval-windows must be 0 (all) or more");
    if (request.measure.eval_text.empty() || !fs::is_regular_file(request.measure.eval_text)) {
        return Status::NotFound("the eval text '" + request.measure.eval_text + "' is not a file");
    }
    if (request.calibration.samples < 1 || request.calibration.seqlen < 2) {
        return Status::InvalidArgument("--calib-samples must be at least 1 and --calib-seqlen at least 2");
    }
    return Status::Ok();
}

Result<OptimizeResult> Optimize(const OptimizeRequest& raw_request) {
    const auto start = Clock::now();
    OptimizeRequest request = raw_request;
    if (request.presets.empty()) request.presets = quant::PresetNames();
    if (request.hardware.empty()) request.hardware = BuiltinGpus();
    request.measure.latency.prompt_tokens = request.workload.prompt_tokens;
    request.measure.latency.gen_tokens = request.workload.output_tokens;
    TP_RETURN_IF_ERROR(CheckOptimizeRequest(request));
    const CandidateCache cache(request.cache_dir.empty() ? DefaultCacheDir() : request.cache_dir);
    auto stage = [&](const std::string& text) {
        if (request.on_stage) request.on_stage(text);
    };

    OptimizeResult result;
    result.request = request;
    TP_ASSIGN_OR_RETURN(model::Model model, model::OpenModel(request.model));
    if (model.config.quantization) {
        return Status::InvalidArgument(request.model + " is already quantized (" + model.config.quantization->quant_method +
                                       "); optimize starts from the unquantized model");
    }
    const int64_t trained = model.config.max_position_embeddings;
    const int64_t shape = request.workload.prompt_tokens + request.workload.output_tokens;
    if (trained > 0 && shape > trained) {
        return Status::InvalidArgument("--prompt-tokens + --output-tokens = " + std::to_string(shape) +
                                       " is longer than the " + std::to_string(trained) + " tokens " + model.origin +
                                       " was trained on");
    }
    result.model = model.origin;
    result.shape = ShapeOf(model.config);
    stage("identifying " + model.origin + " (the cache key: its tensors' hash, remembered by file size and time)");
    TP_ASSIGN_OR_RETURN(DigestLookup model_lookup, cache.ModelDigestOf(model, request.model, request.refresh));
    const Digest model_digest = model_lookup.digest;
    result.model_digest = ToHex(model_digest);
    TP_ASSIGN_OR_RETURN(Digest eval_digest, FileDigest(request.measure.eval_text));
    std::string calib_digest = "none";
    const std::string calib_path =
        request.calibration.text_path.empty() ? quant::DefaultCalibrationText() : request.calibration.text_path;
    if (std::any_of(request.presets.begin(), request.presets.end(), [](const std::string& p) {
            const Result<quant::QuantizeRequest> r = quant::PresetRequest(p);
            return r.ok() && quant::IsCalibrated(r->options.method);
        })) {
        TP_ASSIGN_OR_RETURN(Digest d, FileDigest(calib_path));
        calib_digest = ToHex(d);
    }
    const std::string measure_record = "measure-" + ToHex(KeyOf({{"measure", MeasureText(request.measure, ToHex(eval_digest))}})).substr(0, 16);

    // The unquantized model: the perplexity every candidate is compared with.
    const Digest reference_key = KeyOf({{"schema", "tenpak-optimize-1"}, {"reference", result.model_digest}});
    for (const io::TensorInfo& info : model.tensors->tensors()) result.reference_bytes += info.nbytes;
    stage("[0/" + std::to_string(request.presets.size()) + "] unquantized model: measuring perplexity and latency");
    TP_ASSIGN_OR_RETURN(result.reference, CachedMeasurement(cache, reference_key, request.model, measure_record,
                                                            request, result.reference_cached));

    const PresetJob job{model, result.model_digest, calib_digest, measure_record, cache, request};
    for (size_t i = 0; i < request.presets.size(); ++i) {
        CandidateResult c;
        const std::string step = "[" + std::to_string(i + 1) + "/" + std::to_string(request.presets.size()) + "]";
        TP_RETURN_IF_ERROR(RunPreset(job, request.presets[i], step, c));
        if (c.error.empty()) c.ppl_delta_pct = (c.measured.ppl / result.reference.ppl - 1.0) * 100.0;
        if (!c.error.empty()) stage(step + " " + c.preset + ": failed: " + c.error);
        result.candidates.push_back(std::move(c));
    }
    if (std::none_of(result.candidates.begin(), result.candidates.end(),
                     [](const CandidateResult& c) { return c.error.empty(); })) {
        std::string failures;
        for (const CandidateResult& c : result.candidates) failures += "\n  " + c.preset + ": " + c.error;
        return Status::InvalidArgument("no candidate could be made from " + model.origin + ":" + failures);
    }
    result.entries = ProjectAll(result, request, request.hardware);
    result.selection = Select(result.entries, request.constraints);
    result.explanations = ExplainPresets(result.entries, result.selection, request.constraints);
    for (const CandidateResult& c : result.candidates) {
        if (!c.error.empty()) result.explanations.emplace_back(c.preset, "could not be made: " + c.error);
    }
    result.seconds = SecondsSince(start);
    return result;
}

}  // namespace tenpak::optimize
