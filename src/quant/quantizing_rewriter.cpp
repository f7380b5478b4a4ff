#include "quantizing_rewriter.h"

#include <algorithm>
#include <regex>
#include <system_error>

#include "quant/kquants.h"
#include "tenpak/core/cast.h"
#include "tenpak/model/model_spec.h"
#include "tenpak/model/tensor_layout.h"

namespace tenpak::quant::internal {
namespace {

using quantformat::Layout;
using quantformat::PackedTensor;
using quantformat::QuantizedTensor;
using quantformat::Scheme;

constexpr std::string_view kWeightSuffix = ".weight";
constexpr std::string_view kQuantStatePrefix = "weight.quant_state.";
// Room left in a bitsandbytes quant_state tensor for its JSON: the writer fixes every size before
// any weight is quantized, and the JSON's nested_offset is a number whose length is known only
// then. The JSON is padded with spaces up to the planned size (whitespace JSON parsers skip).
constexpr uint64_t kQuantStateSlack = 48;

std::string LayerPrefix(const std::string& weight_name) {
    if (weight_name.ends_with(kWeightSuffix)) return weight_name.substr(0, weight_name.size() - kWeightSuffix.size());
    return weight_name;
}

bool IsFourBit(DType type) {
    return type == DType::kQ4_0 || type == DType::kQ4_1 || type == DType::kQ4_K;
}

bool IsKQuantType(DType type) {
    return type == DType::kQ4_K || type == DType::kQ6_K;
}

// A tensor with the target's structure and any valid values: packing it gives the names, dtypes
// and sizes of the real thing (every layout's sizes depend on the shape and parameters only).
QuantizedTensor Placeholder(int64_t rows, int64_t cols, Method method, const QuantOptions& options) {
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = 4;
    q.scheme = Scheme::kAffine;
    q.group_size = 32;
    uint8_t code = 0;
    float zero = 8;
    switch (method) {
        case Method::kRtn:
        case Method::kGptq:
        case Method::kAwq:
            q.bits = options.bits;
            q.symmetric = options.symmetric;
            q.group_size = options.group_size < 0 ? cols : options.group_size;
            zero = 1;
            break;
        case Method::kNf4:
        case Method::kFp4:
            q.scheme = method == Method::kNf4 ? Scheme::kNf4 : Scheme::kFp4;
            q.group_size = options.group_size;
            break;
        case Method::kInt8:
            q.bits = 8;
            q.scheme = Scheme::kInt8Absmax;
            q.group_size = cols;
            code = 128;
            break;
        case Method::kGgufQ8_0:
            q.bits = 8;
            zero = 128;
            break;
        case Method::kGgufQ4_0:
            break;
        case Method::kGgufQ4_1:
            q.scheme = Scheme::kAffineMin;
            zero = 0;
            break;
        case Method::kGgufQ4_K:
        case Method::kGgufQ6_K:
            break;  // GGUF tensors are planned from their dtype, without a placeholder
    }
    q.codes.assign(static_cast<size_t>(rows * cols), code);
    const int64_t groups = q.scheme == Scheme::kNf4 || q.scheme == Scheme::kFp4 ? q.groups() : rows * q.groups();
    q.scales.assign(static_cast<size_t>(groups), 1.0f);
    if (q.scheme == Scheme::kAffine || q.scheme == Scheme::kAffineMin) q.zeros.assign(q.scales.size(), zero);
    if ((method == Method::kNf4 || method == Method::kFp4) && options.double_quant) {
        quantformat::DoubleQuant dq;
        dq.codes.assign(static_cast<size_t>(groups), 255);  // DynamicMap8()[255] == 1: scales of 1 are exact
        dq.nested_absmax.assign(static_cast<size_t>((groups + dq.nested_block - 1) / dq.nested_block), 1.0f);
        q.double_quant = std::move(dq);
    }
    return q;
}

std::string RegexEscape(const std::string& text) {
    static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
    return std::regex_replace(text, special, R"(\$&)");
}

}  // namespace

Result<Layout> HfLayoutFor(OutputFormat format, Method method) {
    switch (format) {
        case OutputFormat::kGptq:
            if (method == Method::kRtn || method == Method::kGptq) return Layout::kGptq;
            return Status::InvalidArgument(
                "the GPTQ format stores gptq or rtn codes: use --method gptq or rtn (or --format "
                "awq for awq, --format bnb for nf4, fp4 and int8)");
        case OutputFormat::kAwq:
            if (method == Method::kRtn || method == Method::kAwq) return Layout::kAwqGemm;
            return Status::InvalidArgument("the AWQ format stores awq or rtn codes: use --method awq, or rtn --bits 4");
        case OutputFormat::kBnb:
            if (method == Method::kNf4 || method == Method::kFp4) return Layout::kBnb4;
            if (method == Method::kInt8) return Layout::kBnb8;
            return Status::InvalidArgument(
                "the bitsandbytes format stores nf4, fp4 or int8: use --method nf4, fp4 or "
                "int8 (or --format gptq for rtn)");
        default:
            return Status::InvalidArgument("format '" + std::string(OutputFormatName(format)) +
                                           "' is not a quantized HF layout");
    }
}

Scheme SchemeOf(Method method) {
    switch (method) {
        case Method::kNf4:
            return Scheme::kNf4;
        case Method::kFp4:
            return Scheme::kFp4;
        case Method::kInt8:
            return Scheme::kInt8Absmax;
        case Method::kGgufQ4_1:
            return Scheme::kAffineMin;
        default:
            return Scheme::kAffine;
    }
}

Result<DType> GgufTypeOf(const QuantizeRequest& request) {
    if (request.gguf_type) {
        const DType t = *request.gguf_type;
        if (t == DType::kF16 || t == DType::kQ8_0 || t == DType::kQ4_0 || t == DType::kQ4_1 || IsKQuantType(t)) {
            return t;
        }
        return Status::InvalidArgument("GGUF type " + std::string(DTypeName(t)) +
                                       " is not supported (supported: F16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)");
    }
    const QuantOptions& o = request.options;
    if (o.method != Method::kRtn) {
        return Status::InvalidArgument("GGUF has no " + std::string(MethodName(o.method)) +
                                       " blocks: use --gguf-type F16|Q8_0|Q4_0|Q4_1|Q4_K|Q6_K, or --method rtn");
    }
    if (o.group_size == 32 && o.bits == 8 && o.symmetric) return DType::kQ8_0;
    if (o.group_size == 32 && o.bits == 4) return o.symmetric ? DType::kQ4_0 : DType::kQ4_1;
    return Status::InvalidArgument("rtn with " + std::to_string(o.bits) + " bits, group size " +
                                   std::to_string(o.group_size) + (o.symmetric ? ", sym" : ", asym") +
                                   " has no GGUF block type; GGUF takes rtn --bits 8 --group-size 32 --sym (Q8_0), "
                                   "--bits 4 --group-size 32 --sym (Q4_0) or --asym (Q4_1), or --gguf-type");
}

Method GgufMethod(DType type) {
    if (type == DType::kQ8_0) return Method::kGgufQ8_0;
    if (type == DType::kQ4_1) return Method::kGgufQ4_1;
    if (type == DType::kQ4_K) return Method::kGgufQ4_K;
    if (type == DType::kQ6_K) return Method::kGgufQ6_K;
    return Method::kGgufQ4_0;
}

QuantizingRewriter::QuantizingRewriter(const model::Model& model, const QuantizeRequest& request, ThreadPool& pool)
    : model_(model), request_(request), pool_(pool) {}

QuantizingRewriter::~QuantizingRewriter() {
    if (ahead_) ahead_->packed.wait();
}

QuantizingRewriter::Decision QuantizingRewriter::Decide(const io::TensorInfo& info, bool gguf) const {
    Decision d;
    const std::optional<model::RoleMatch> match =
        model::MatchName(*model_.spec, info.name, model::Naming::kHuggingFace);
    if (!match || info.shape.size() != 2) return d;
    const bool conv1d = match->role->conv1d;
    d.rows = conv1d ? info.shape[1] : info.shape[0];
    d.cols = conv1d ? info.shape[0] : info.shape[1];
    if (gguf) {
        // llama.cpp's policy: every 2-D weight in the file's type; the output head of a 4-bit type in
        // Q6_K (llama-quantize's choice), or in Q8_0 when its rows do not divide into Q6_K's
        // super-blocks of 256 or the type is a legacy one (TenPak's Q4_0 / Q4_1 files have always put
        // it in Q8_0); rows that do not divide into the type's blocks (32, or 256 for the k-quants)
        // in F16 (llama-quantize would fall back to another type). With tied embeddings the embedding
        // is the output head and is typed as one.
        const Result<DType> type = GgufTypeOf(request_);
        if (!type.ok() || *type == DType::kF16) return d;
        DType chosen = *type;
        const bool tied = model_.tensors->Find("lm_head.weight") == nullptr;
        const bool is_head =
            info.name == "lm_head.weight" ||
            (tied && (info.name == "model.embed_tokens.weight" || info.name == "transformer.wte.weight"));
        if (is_head && IsFourBit(chosen)) {
            chosen = chosen == DType::kQ4_K && d.cols % 256 == 0 ? DType::kQ6_K : DType::kQ8_0;
        }
        const int64_t block = IsKQuantType(chosen) ? 256 : 32;
        if (d.cols % block != 0) {
            d.kept_reason = "input size " + std::to_string(d.cols) + " is not a multiple of " +
                            std::string(DTypeName(chosen)) + "'s block of " + std::to_string(block);
            return d;
        }
        d.target = Target{*quantformat::GgufLayoutOf(chosen), GgufMethod(chosen), d.rows, d.cols, conv1d};
        return d;
    }
    if (!match->role->is_linear()) return d;
    const QuantOptions& o = request_.options;
    const Result<Layout> layout = HfLayoutFor(request_.format, o.method);
    if (!layout.ok()) return d;  // CheckRequest refused it already
    const Status fits = quantformat::CanHold(*layout, d.rows, d.cols, o.bits, o.group_size, SchemeOf(o.method));
    if (!fits.ok()) {
        d.kept_reason = fits.message();
        return d;
    }
    d.target = Target{*layout, o.method, d.rows, d.cols, conv1d};
    return d;
}

Status QuantizingRewriter::Preflight(bool gguf) const {
    std::string first_reason;
    for (const io::TensorInfo& info : model_.tensors->tensors()) {
        const Decision d = Decide(info, gguf);
        if (d.target) return Status::Ok();
        if (first_reason.empty() && !d.kept_reason.empty()) first_reason = "'" + info.name + "': " + d.kept_reason;
    }
    return Status::InvalidArgument("the format can hold none of " + model_.origin + "'s linear layers (" +
                                   (first_reason.empty() ? std::string("it has none") : first_reason) +
                                   "); choose another group size or format");
}

bool QuantizingRewriter::Quantizes(const std::string& name) const {
    const io::TensorInfo* info = model_.tensors->Find(name);
    return info != nullptr && Decide(*info, /*gguf=*/false).target.has_value();
}

Result<std::optional<std::vector<io::TensorInfo>>> QuantizingRewriter::Plan(const io::TensorInfo& info, bool gguf) {
    Result<std::optional<std::vector<io::TensorInfo>>> planned = PlanTensor(info, gguf);
    if (planned.ok() && planned->has_value() && targets_.count(info.name) != 0) {
        OrderedLayer p;
        p.canonical = info;
        const std::optional<model::RoleMatch> match =
            model::MatchName(*model_.spec, info.name, model::Naming::kHuggingFace);
        if (gguf && match) {
            p.layer = match->layer;
            p.role = static_cast<size_t>(match->role - model_.spec->roles.data());
            p.key = model::RoleName(*match->role, model::Naming::kGguf, match->layer);
        } else {
            for (const io::TensorInfo& out : **planned) {
                if (p.key.empty() || model::HfWriteOrderLess(out.name, p.key)) p.key = out.name;
            }
        }
        write_order_.push_back(std::move(p));
        write_order_sorted_ = false;
        gguf_ = gguf;
    }
    // Every layer is planned once the source's last 2-D tensor is (WriteGguf plans 2-D tensors
    // only; what WriteHfFolder plans after it is 1-D and never quantized): start making the first
    // layer while the writer writes what comes before it (the embeddings, in both writers' orders).
    if (planned.ok() && info.name == LastMatrixName() && !ahead_) StartAfter("");
    return planned;
}

Result<std::optional<std::vector<io::TensorInfo>>> QuantizingRewriter::PlanTensor(const io::TensorInfo& info,
                                                                                   bool gguf) {
    using Planned = std::optional<std::vector<io::TensorInfo>>;
    if (pipeline_ != nullptr && pipeline_->Changes(info.name)) {
        io::TensorInfo t = info;  // same name and shape, in the folder's float type
        t.dtype = DType::kF16;
        TP_ASSIGN_OR_RETURN(t.nbytes, TensorByteSize(t.dtype, t.shape));
        return Planned(std::vector<io::TensorInfo>{t});
    }
    const Decision d = Decide(info, gguf);
    if (!d.kept_reason.empty()) kept_.push_back({LayerPrefix(info.name), d.kept_reason});
    if (!d.target) return Planned();
    const std::optional<Target>& target = d.target;
    const int64_t rows = d.rows;
    const int64_t cols = d.cols;
    targets_[info.name] = *target;
    ++quantized_layers_;

    std::vector<io::TensorInfo> out;
    if (gguf) {
        io::TensorInfo t;
        t.name = info.name;
        t.dtype = *quantformat::GgufDTypeOf(target->layout);
        t.shape = {rows, cols};
        TP_ASSIGN_OR_RETURN(t.nbytes, TensorByteSize(t.dtype, t.shape));
        out.push_back(std::move(t));
        return Planned(std::move(out));
    }
    const auto key = std::make_tuple(target->layout, target->method, rows, cols);
    auto planned = planned_shapes_.find(key);
    if (planned == planned_shapes_.end()) {
        const QuantizedTensor placeholder = Placeholder(rows, cols, target->method, request_.options);
        Result<std::vector<PackedTensor>> packed = quantformat::Pack(target->layout, placeholder);
        if (!packed.ok()) return packed.status().WithContext("planning tensor '" + info.name + "'");
        std::vector<io::TensorInfo> shapes;
        for (const PackedTensor& p : *packed) {
            io::TensorInfo t;
            t.name = p.suffix;
            t.dtype = p.dtype;
            t.shape = p.shape;
            t.nbytes = p.bytes.size();
            if (p.suffix.starts_with(kQuantStatePrefix)) {
                t.nbytes += kQuantStateSlack;
                t.shape = {static_cast<int64_t>(t.nbytes)};
            }
            shapes.push_back(std::move(t));
        }
        planned = planned_shapes_.emplace(key, std::move(shapes)).first;
    }
    const std::string prefix = LayerPrefix(info.name);
    for (io::TensorInfo t : planned->second) {
        t.name = prefix + "." + t.name;
        out.push_back(std::move(t));
    }
    return Planned(std::move(out));
}

Result<const Quantizer*> QuantizingRewriter::QuantizerFor(Method method) {
    auto it = quantizers_.find(method);
    if (it == quantizers_.end()) {
        QuantOptions options = request_.options;
        options.method = method;
        TP_ASSIGN_OR_RETURN(std::unique_ptr<Quantizer> made, MakeQuantizer(options));
        it = quantizers_.emplace(method, std::move(made)).first;
    }
    return it->second.get();
}

Result<const BlockwiseRecipe*> QuantizingRewriter::RecipeFor(Method method) {
    if (IsKQuant(method)) return static_cast<const BlockwiseRecipe*>(nullptr);
    auto it = recipes_.find(method);
    if (it == recipes_.end()) {
        QuantOptions options = request_.options;
        options.method = method;
        TP_ASSIGN_OR_RETURN(BlockwiseRecipe made, MakeBlockwiseRecipe(options));
        it = recipes_.emplace(method, std::move(made)).first;
    }
    return &it->second;
}

Result<std::span<const float>> QuantizingRewriter::ReadWeights(const io::TensorInfo& info, const Target& target,
                                                               std::vector<float>& scratch) {
    const int64_t rows = target.rows;
    const int64_t cols = target.cols;
    TP_ASSIGN_OR_RETURN(io::TensorData data, model_.tensors->Read(info));
    if (Traits(info.dtype).block_elems != 1) {
        return Status::Unsupported("tensor '" + info.name + "' is stored as " + std::string(DTypeName(info.dtype)) +
                                   ", which TenPak does not requantize");
    }
    // Buffers grow to the largest layer and are reused: no page faults or clearing per layer.
    const size_t count_all = static_cast<size_t>(rows * cols);
    const bool conv1d = target.conv1d;
    std::vector<float>& stored_buffer = conv1d ? transpose_scratch_ : scratch;
    if (stored_buffer.size() < count_all) stored_buffer.resize(count_all);
    const std::span<float> stored(stored_buffer.data(), count_all);
    // The cast, on the pool: it is a full pass over the layer, as long as the quantization itself.
    const size_t in_row = static_cast<size_t>(info.shape[1]);
    const size_t elem = Traits(info.dtype).block_bytes;
    std::vector<Status> failures(pool_.size());
    pool_.ParallelFor(
        static_cast<size_t>(info.shape[0]),
        [&](size_t begin, size_t end, size_t thread) {
            const size_t count = (end - begin) * in_row;
            const Status s =
                CastTensor(info.dtype, data.bytes().subspan(begin * in_row * elem, count * elem), DType::kF32,
                           {reinterpret_cast<std::byte*>(stored.data() + begin * in_row), count * 4}, count);
            if (!s.ok()) failures[thread] = s;
        },
        16);
    for (const Status& s : failures) TP_RETURN_IF_ERROR(s);
    if (!conv1d) return std::span<const float>(stored);
    // Conv1D [in, out] -> [out, in].
    if (scratch.size() < count_all) scratch.resize(count_all);
    const std::span<float> weights(scratch.data(), count_all);
    model::Transpose2d({reinterpret_cast<const std::byte*>(stored.data()), stored.size() * sizeof(float)},
                       {reinterpret_cast<std::byte*>(weights.data()), weights.size() * sizeof(float)}, info.shape[0],
                       info.shape[1], sizeof(float));
    return std::span<const float>(weights);
}

Result<quantformat::QuantizedTensor> QuantizingRewriter::QuantizedOf(const io::TensorInfo& canonical,
                                                                      const Target& t) {
    if (IsCalibrated(t.method)) {
        const std::optional<model::RoleMatch> match =
            model::MatchName(*model_.spec, canonical.name, model::Naming::kHuggingFace);
        if (pipeline_ == nullptr || !match || match->layer < 0) {
            return Status::Internal("tensor '" + canonical.name + "' has no calibration block");
        }
        TP_RETURN_IF_ERROR(pipeline_->RunThrough(match->layer));
        return pipeline_->TakeQuantized(canonical.name);
    }
    return Status::Internal("tensor '" + canonical.name + "' is quantized without calibration");
}

Result<std::vector<PackedTensor>> QuantizingRewriter::MakeCalibrationFree(const io::TensorInfo& canonical,
                                                                          const Target& t, const Quantizer& quantizer,
                                                                          const BlockwiseRecipe* recipe) {
    const bool conv1d = t.conv1d;
    const bool castable =
        canonical.dtype == DType::kF16 || canonical.dtype == DType::kBF16 || canonical.dtype == DType::kF32;
    Result<QuantizedTensor> q = [&]() -> Result<QuantizedTensor> {
        if (!conv1d && castable) {
            // [out, in] as stored: cast group by group (or super-block by super-block) as they are
            // quantized, no F32 copy.
            TP_ASSIGN_OR_RETURN(io::TensorData data, model_.tensors->Read(canonical));
            Result<QuantizedTensor> made =
                recipe != nullptr
                    ? recipe->QuantizeStored(canonical.dtype, data.bytes(), t.rows, t.cols, pool_, &codes_scratch_)
                    : QuantizeKQuantStored(t.method == Method::kGgufQ4_K ? KQuant::kQ4_K : KQuant::kQ6_K,
                                           canonical.dtype, data.bytes(), t.rows, t.cols, pool_);
            data = io::TensorData();
            model_.tensors->Release(canonical);
            if (!made.ok()) return made.status().WithContext("tensor '" + canonical.name + "'");
            return made;
        }
        TP_ASSIGN_OR_RETURN(const std::span<const float> weights,
                            ReadWeights(canonical, t, weights_scratch_));
        model_.tensors->Release(canonical);
        Result<QuantizedTensor> made = quantizer.Quantize(weights, t.rows, t.cols, pool_);
        if (!made.ok()) return made.status().WithContext("tensor '" + canonical.name + "'");
        return made;
    }();
    if (!q.ok()) return q.status();
    Result<std::vector<PackedTensor>> packed = quantformat::Pack(t.layout, *q);
    codes_scratch_ = std::move(q->codes);  // packed: the next layer's codes go there
    if (!packed.ok()) return packed.status().WithContext("tensor '" + canonical.name + "'");
    return packed;
}

const std::string& QuantizingRewriter::LastMatrixName() {
    if (!last_matrix_) {
        last_matrix_.emplace();
        for (const io::TensorInfo& t : model_.tensors->tensors()) {
            if (t.shape.size() == 2) *last_matrix_ = t.name;
        }
    }
    return *last_matrix_;
}

bool QuantizingRewriter::LookaheadEnabled() const {
    return pipeline_ == nullptr;
}

void QuantizingRewriter::SortWriteOrder() {
    if (write_order_sorted_) return;
    if (gguf_) {
        std::stable_sort(write_order_.begin(), write_order_.end(), [](const OrderedLayer& a, const OrderedLayer& b) {
            return std::tie(a.layer, a.role, a.key) < std::tie(b.layer, b.role, b.key);
        });
    } else {
        std::stable_sort(write_order_.begin(), write_order_.end(), [](const OrderedLayer& a, const OrderedLayer& b) {
            return model::HfWriteOrderLess(a.key, b.key);
        });
    }
    write_order_sorted_ = true;
}

void QuantizingRewriter::StartAfter(const std::string& name) {
    if (!LookaheadEnabled() || ahead_) return;
    SortWriteOrder();
    size_t next = 0;
    if (!name.empty()) {
        const auto it = std::find_if(write_order_.begin(), write_order_.end(),
                                     [&name](const OrderedLayer& p) { return p.canonical.name == name; });
        if (it == write_order_.end()) return;
        next = static_cast<size_t>(it - write_order_.begin()) + 1;
    }
    if (next >= write_order_.size()) return;
    const io::TensorInfo& canonical = write_order_[next].canonical;
    const auto target = targets_.find(canonical.name);
    if (target == targets_.end() || IsCalibrated(target->second.method)) return;
    // A quantizer that cannot be made is reported when the writer asks for the layer.
    Result<const Quantizer*> quantizer = QuantizerFor(target->second.method);
    if (!quantizer.ok()) return;
    Result<const BlockwiseRecipe*> recipe = RecipeFor(target->second.method);
    if (!recipe.ok()) return;
    std::future<Result<std::vector<PackedTensor>>> packed;
    try {
        packed = std::async(std::launch::async,
                            [this, canonical, t = target->second, q = *quantizer, r = *recipe]() {
                                return MakeCalibrationFree(canonical, t, *q, r);
                            });
    } catch (const std::system_error&) {
        return;  // no thread to be had: the layer is made when asked
    }
    ahead_ = Ahead{canonical.name, std::move(packed)};
}

void QuantizingRewriter::DropAhead() {
    if (!ahead_) return;
    ahead_->packed.wait();
    ahead_.reset();
    ++lookahead_misses_;
}

Result<io::TensorData> QuantizingRewriter::ProduceChanged(const io::TensorInfo& canonical, const io::TensorInfo& out) {
    const std::optional<model::RoleMatch> match =
        model::MatchName(*model_.spec, canonical.name, model::Naming::kHuggingFace);
    if (!match || match->layer < 0) return Status::Internal("tensor '" + canonical.name + "' has no calibration block");
    TP_RETURN_IF_ERROR(pipeline_->RunThrough(match->layer));
    TP_ASSIGN_OR_RETURN(std::vector<float> values, pipeline_->TakeChanged(canonical.name));
    std::vector<std::byte> bytes(out.nbytes);
    TP_RETURN_IF_ERROR(CastTensor(DType::kF32,
                                  {reinterpret_cast<const std::byte*>(values.data()), values.size() * sizeof(float)},
                                  out.dtype, bytes, values.size()));
    return io::TensorData::Own(std::move(bytes));
}

Result<io::TensorData> QuantizingRewriter::Produce(const io::TensorInfo& canonical, const io::TensorInfo& out) {
    if (pipeline_ != nullptr && pipeline_->Changes(canonical.name)) return ProduceChanged(canonical, out);
    if (cached_name_ != canonical.name) {
        cached_.clear();
        cached_name_.clear();
        const auto target = targets_.find(canonical.name);
        if (target == targets_.end()) return Status::Internal("tensor '" + canonical.name + "' was not planned");
        const Target& t = target->second;
        if (IsCalibrated(t.method)) {
            TP_ASSIGN_OR_RETURN(QuantizedTensor q, QuantizedOf(canonical, t));
            Result<std::vector<PackedTensor>> packed = quantformat::Pack(t.layout, q);
            if (!packed.ok()) return packed.status().WithContext("tensor '" + canonical.name + "'");
            cached_ = std::move(packed).value();
        } else {
            Result<std::vector<PackedTensor>> packed = Status::Internal("not made");
            if (ahead_ && ahead_->name == canonical.name) {
                packed = ahead_->packed.get();
                ahead_.reset();
                ++lookahead_hits_;
            } else {
                DropAhead();
                TP_ASSIGN_OR_RETURN(const Quantizer* quantizer, QuantizerFor(t.method));
                TP_ASSIGN_OR_RETURN(const BlockwiseRecipe* recipe, RecipeFor(t.method));
                packed = MakeCalibrationFree(canonical, t, *quantizer, recipe);
            }
            if (!packed.ok()) return packed.status();
            cached_ = std::move(packed).value();
            // The next layer is made while the writer writes this one.
            StartAfter(canonical.name);
        }
        cached_name_ = canonical.name;
    }
    // GGUF: the one tensor. HF: the one whose suffix completes the output's name.
    const std::string prefix = LayerPrefix(canonical.name);
    for (PackedTensor& p : cached_) {
        if (cached_.size() != 1 && out.name != prefix + "." + p.suffix) continue;
        std::vector<std::byte> bytes = std::move(p.bytes);
        if (p.suffix.starts_with(kQuantStatePrefix)) {
            if (bytes.size() > out.nbytes) {
                return Status::Internal("tensor '" + out.name + "': quant_state JSON of " +
                                        std::to_string(bytes.size()) + " bytes exceeds the planned " +
                                        std::to_string(out.nbytes));
            }
            bytes.resize(out.nbytes, std::byte{' '});
        }
        return io::TensorData::Own(std::move(bytes));
    }
    return Status::Internal("tensor '" + out.name + "' is not among the packed tensors of '" + canonical.name + "'");
}

nlohmann::json QuantizingRewriter::QuantizationConfigJson() const {
    using nlohmann::json;
    const QuantOptions& o = request_.options;
    std::vector<std::string> kept;
    for (const KeptLayer& k : kept_) kept.push_back(k.name);
    const json kept_json = kept.empty() ? json(nullptr) : json(kept);
    json q = json::object();
    switch (request_.format) {
        case OutputFormat::kGptq: {
            // Every key vLLM's gptq / gptq_marlin, TGI and transformers read (formats.md B.6), explicit.
            q["bits"] = o.bits;
            q["group_size"] = o.group_size;
            q["damp_percent"] = o.method == Method::kGptq ? o.damp : 0.01;
            q["desc_act"] = o.method == Method::kGptq && o.act_order;
            q["static_groups"] = o.method == Method::kGptq && o.static_groups;
            q["sym"] = o.symmetric;
            q["true_sequential"] = true;
            q["model_name_or_path"] = nullptr;
            q["model_file_base_name"] = nullptr;
            q["quant_method"] = "gptq";
            q["checkpoint_format"] = "gptq";
            if (!kept.empty()) {
                // vLLM skips modules matched by a "-:" rule of `dynamic`.
                json dynamic = json::object();
                for (const std::string& name : kept) dynamic["-:^" + RegexEscape(name) + "$"] = json::object();
                q["dynamic"] = dynamic;
            }
            break;
        }
        case OutputFormat::kAwq:
            q["quant_method"] = "awq";
            q["zero_point"] = true;  // the GEMM layout always stores zero points (sym ones are 8)
            q["group_size"] = o.group_size;
            q["bits"] = o.bits;
            q["version"] = "gemm";
            q["modules_to_not_convert"] = kept_json;
            break;
        case OutputFormat::kBnb: {
            const bool four = o.method != Method::kInt8;
            q["quant_method"] = "bitsandbytes";
            q["_load_in_4bit"] = four;
            q["_load_in_8bit"] = !four;
            q["load_in_4bit"] = four;
            q["load_in_8bit"] = !four;
            q["bnb_4bit_quant_type"] = o.method == Method::kNf4 ? "nf4" : "fp4";
            q["bnb_4bit_use_double_quant"] = four && o.double_quant;
            q["bnb_4bit_compute_dtype"] = "float16";
            q["bnb_4bit_quant_storage"] = "uint8";
            q["llm_int8_threshold"] = static_cast<double>(o.int8_threshold);
            q["llm_int8_skip_modules"] = kept_json;
            q["llm_int8_enable_fp32_cpu_offload"] = false;
            q["llm_int8_has_fp16_weight"] = false;
            break;
        }
        default:
            break;
    }
    return q;
}

void QuantizingRewriter::EditConfig(nlohmann::json& config) const {
    config["quantization_config"] = QuantizationConfigJson();
    config["torch_dtype"] = "float16";
}

std::vector<io::AuxFile> QuantizingRewriter::ExtraFiles() const {
    if (request_.format != OutputFormat::kGptq) return {};
    // AutoGPTQ's side file, which older loaders (and TGI's fallback) read.
    return {{"quantize_config.json", QuantizationConfigJson().dump(2) + "\n"}};
}

}  // namespace tenpak::quant::internal
