/// Accumulates a row-sparse gradient: rows are zero-initialised on first touch, found again
/// through a dense row -> slot map (reset only at touched rows, so clearing costs O(touched)).
public final class RowAccumulator {
    public let rows: Int
    public let width: Int
    private var slotOfRow: UnsafeMutablePointer<Int32>
    private var touched: [Int32] = []
    private var storage: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init(rows: Int, width: Int, expectedRows: Int = 64) {
        self.rows = rows
        self.width = width
        slotOfRow = .allocate(capacity: rows)
        slotOfRow.initialize(repeating: -1, count: rows)
        capacity = max(1, expectedRows)
        storage = .allocate(capacity: capacity * width)
        touched.reserveCapacity(capacity)
    }

    deinit {
        slotOfRow.deallocate()
        storage.deallocate()
    }

    public var touchedCount: Int { touched.count }

    /// The accumulator row for parameter row `r` (zeroed when first touched). Valid until the
    /// next call that touches a new row.
    @inline(__always)
    public func row(_ r: Int) -> UnsafeMutablePointer<Float> {
        let s = slotOfRow[r]
        if s >= 0 { return storage + Int(s) * width }
        if touched.count == capacity { grow() }
        let slot = touched.count
        touched.append(Int32(r))
        slotOfRow[r] = Int32(slot)
        let p = storage + slot * width
        p.update(repeating: 0, count: width)
        return p
    }

    private func grow() {
        let newCap = capacity * 2
        let n = UnsafeMutablePointer<Float>.allocate(capacity: newCap * width)
        n.update(from: storage, count: capacity * width)
        storage.deallocate()
        storage = n
        capacity = newCap
    }

    public func clear() {
        for r in touched { slotOfRow[Int(r)] = -1 }
        touched.removeAll(keepingCapacity: true)
    }

    /// Writes the rows, sorted, into a row-sparse gradient tensor (reusing its storage).
    public func export(into g: inout GradientTensor) {
        precondition(g.rows == rows && g.width == width)
        g.reset(layout: .rowSparse)
        touched.sort()
        for r in touched {
            g.appendRow(r, storage + Int(slotOfRow[Int(r)]) * width)
        }
    }

    /// Adds the rows into a dense rows x width buffer.
    public func addInto(dense: UnsafeMutablePointer<Float>) {
        for r in touched {
            FastMath.axpy(1, storage + Int(slotOfRow[Int(r)]) * width, dense + Int(r) * width, count: width)
        }
    }
}
