import CIRNKernels
import IRNNumerics

/// A bf16 copy of W_p (packed for the AVX512-BF16 first pass) and every item's ||w_j||, for
/// pruned exact scoring: the first pass scores all items cheaply, a per-item error bound
/// keeps every item that can reach the exact top K, and only those are scored in float32.
/// Immutable per snapshot; follow mode repacks only the W_p rows that changed.
final class PrunedPolicy: Sendable {
    let items: Int
    let hidden: Int
    let paddedItems: Int
    let paddedHidden: Int
    let packed: [UInt16]
    let norms: [Float]
    /// The largest ||w_j|| (for the absolute slack of denormal effects).
    let maxNorm: Float
    /// False when W_p has a non-finite entry: the first pass would say nothing; score exactly.
    let finite: Bool

    /// True when this CPU runs the first pass in hardware (else serving keeps the sgemm path).
    static let supported: Bool = irn_bf16_supported() != 0

    /// Packs W_p; with `previous` (same shape), copies it and repacks only `changedRows`.
    init(_ p: NetworkParameters, previous: PrunedPolicy? = nil, changedRows: Set<Int32>? = nil) {
        let N = p.shape.items, H = p.shape.hidden
        items = N
        hidden = H
        paddedItems = irn_bf16_padded_items(N)
        paddedHidden = irn_bf16_padded_hidden(H)
        var packed: [UInt16]
        var norms: [Float]
        let w = p.tensors[ParameterGroup.policyWeights.rawValue]
        if let previous, let changedRows, previous.items == N, previous.hidden == H {
            packed = previous.packed
            norms = previous.norms
            if !changedRows.isEmpty {
                let rows = Array(changedRows)
                w.withUnsafeBufferPointer { wp in
                    packed.withUnsafeMutableBufferPointer { pk in
                        norms.withUnsafeMutableBufferPointer { nm in
                            rows.withUnsafeBufferPointer { r in
                                irn_bf16_pack_rows(wp.baseAddress!, N, H, r.baseAddress!, r.count, pk.baseAddress!, nm.baseAddress!)
                            }
                        }
                    }
                }
            }
        } else {
            packed = [UInt16](repeating: 0, count: paddedItems * paddedHidden)
            norms = [Float](repeating: 0, count: paddedItems)
            w.withUnsafeBufferPointer { wp in
                packed.withUnsafeMutableBufferPointer { pk in
                    norms.withUnsafeMutableBufferPointer { nm in
                        irn_bf16_pack_rows(wp.baseAddress!, N, H, nil, 0, pk.baseAddress!, nm.baseAddress!)
                    }
                }
            }
        }
        self.packed = packed
        self.norms = norms
        var mx: Float = 0, ok = true
        for v in norms { if v.isFinite { mx = max(mx, v) } else { ok = false } }
        maxNorm = mx
        finite = ok
    }
}
