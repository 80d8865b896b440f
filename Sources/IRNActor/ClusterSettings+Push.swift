import IRNAgents

extension ClusterSettings {
    /// Whether each push is one window's own gradient, untouched: one window per push, fp32
    /// and no row budget on any matrix. The path that keeps sync mode bit-identical to
    /// `irn train`; every other setting goes through `PushAccumulator`.
    public var pushesWindowsUntouched: Bool {
        let budget = pushRowShares(atVersion: .max)
        let otherBudgeted = budget.other < 1 && PushRowsScope(rawValue: pushRowsScope) == .items
        return max(1, pushWindows) == 1 && PushPrecision(rawValue: pushPrecision) != .bf16 && budget.rows == 1 && !otherBudgeted
    }
}
