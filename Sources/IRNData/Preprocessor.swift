import IRNSupport

/// The paper's preprocessing (docs/algorithm.md#data-and-preprocessing), in order:
/// 1. `days`: keep sessions whose first event is within N days of the data's last event;
/// 2. keep sessions with a purchase (unless `allSessions`);
/// 3. drop items with < 5 events and sessions with < 2, repeated to a fixed point;
/// 4. test = sessions whose last event >= T - testDays (T = last event time of what is left);
///    test events on items absent from train are dropped, then test sessions shorter than 2;
/// 5. validation is cut from train the same way with `validDays`, measured back from the
///    test cut (train's own end), against the items of the remaining train part.
/// Sessions in every split are ordered by (first event time, session id).
public enum Preprocessor {
    /// Counts after each stage, for the progress log.
    public struct Log: Sendable {
        public var loadedSessions = 0, loadedEvents = 0
        public var afterDays = 0, afterPurchase = 0
        public var afterFilterSessions = 0, afterFilterEvents = 0, filterRounds = 0
        public var lastEventTime: Int64 = 0, testCut: Int64 = 0, validCut: Int64 = 0
        /// Signs of a careless command line the data set was still written with (one line
        /// each; `irn data prepare` prints them): see `PrepareWarnings`.
        public var warnings: [String] = []
        public init() {}
    }

    /// `raw`: sessions with raw item indices into `rawItemIds` (from `RawEvents.grouped()`).
    public static func prepare(raw: SessionSet, rawItemIds: [Int64], options: PrepareOptions,
                               log: inout Log) throws -> PreparedDataset {
        guard options.shards >= 1 else { throw IRNError("--shards must be at least 1") }
        guard options.days >= 0, options.testDays >= 0, options.validDays >= 0 else {
            throw IRNError("--days, --test-days and --valid-days must not be negative")
        }
        log.loadedSessions = raw.count
        log.loadedEvents = raw.eventCount
        guard raw.eventCount > 0 else { throw IRNError("no events to prepare") }

        // 1 + 2: session-level filters.
        guard let lastAll = raw.times.max(), let firstAll = raw.times.min() else { throw IRNError("no events to prepare") }
        let dayCut = options.days > 0 ? lastAll - Int64(options.days * millisPerDay) : Int64.min
        var keep: [Int] = []
        keep.reserveCapacity(raw.count)
        var afterDays = 0
        raw.types.withUnsafeBufferPointer { tp in
            raw.times.withUnsafeBufferPointer { mp in
                for s in 0..<raw.count {
                    let r = raw.range(of: s)
                    if r.isEmpty || mp[r.lowerBound] < dayCut { continue }
                    afterDays += 1
                    if !options.allSessions {
                        var bought = false
                        for e in r where tp[e] == EventType.purchase.rawValue { bought = true; break }
                        if !bought { continue }
                    }
                    keep.append(s)
                }
            }
        }
        log.afterDays = afterDays
        log.warnings += PrepareWarnings.daysWindow(options: options, kept: afterDays, loaded: raw.count, spanDays: Double(lastAll - firstAll) / Double(millisPerDay))
        log.afterPurchase = keep.count
        var sessions = raw.subset(keep)
        keep = []

        // 3: item and session support, to a fixed point.
        var counts = [Int32](repeating: 0, count: rawItemIds.count)
        var rounds = 0
        while true {
            rounds += 1
            for i in counts.indices { counts[i] = 0 }
            for it in sessions.items { counts[Int(it)] += 1 }
            let minItem = Int32(options.minItemEvents)
            var stable = true
            for s in 0..<sessions.count where sessions.length(of: s) < options.minSessionLength { stable = false; break }
            if stable { for it in sessions.items where counts[Int(it)] < minItem { stable = false; break } }
            if stable { break }
            sessions = filterEvents(sessions, minLength: options.minSessionLength) { counts[Int($0)] >= minItem }
        }
        log.filterRounds = rounds
        log.afterFilterSessions = sessions.count
        log.afterFilterEvents = sessions.eventCount
        guard sessions.count > 0 else {
            throw IRNError("no sessions left after filtering (items with >= \(options.minItemEvents) events, sessions with >= \(options.minSessionLength) events\(options.allSessions ? "" : ", sessions with a purchase"))")
        }
        sessions = sortedByStart(sessions)

        // 4: test split.
        let last = sessions.times.max() ?? lastAll
        let testCut = last - Int64(options.testDays * millisPerDay)
        log.lastEventTime = last
        log.testCut = testCut
        let (train, testRaw) = splitByLastEvent(sessions, cut: testCut)
        guard train.count > 0 else {
            let span = Double(last - (sessions.times.min() ?? last)) / Double(millisPerDay)
            throw IRNError("--test-days \(PrepareWarnings.days(options.testDays)) puts all \(sessions.count) sessions in test (they span \(PrepareWarnings.days(span)) days): nothing is left to train on; use a smaller --test-days")
        }
        let test = restrict(testRaw, toItemsOf: train, itemSpace: rawItemIds.count, minLength: options.minSessionLength)

        // 5: validation from train, measured back from the test cut.
        let validCut = testCut - Int64(options.validDays * millisPerDay)
        log.validCut = validCut
        let (trainTr, validRaw) = splitByLastEvent(train, cut: validCut)
        guard trainTr.count > 0 else {
            throw IRNError("--valid-days \(PrepareWarnings.days(options.validDays)) puts all \(train.count) train sessions in validation: nothing is left to train on before validating; use a smaller --valid-days")
        }
        let valid = restrict(validRaw, toItemsOf: trainTr, itemSpace: rawItemIds.count, minLength: options.minSessionLength)
        log.warnings += PrepareWarnings.splits(train: train, test: test, trainTr: trainTr, valid: valid, options: options)

        // Dense item map of train, ascending original id; every split uses it.
        var present = [Bool](repeating: false, count: rawItemIds.count)
        for it in train.items { present[Int(it)] = true }
        var rawToDense = [Int32](repeating: -1, count: rawItemIds.count)
        let trainRaw = (0..<rawItemIds.count).filter { present[$0] }.sorted { rawItemIds[$0] < rawItemIds[$1] }
        for (d, r) in trainRaw.enumerated() { rawToDense[r] = Int32(d) }
        func remap(_ set: SessionSet) -> SessionSet {
            var out = set
            out.items = set.items.map { rawToDense[Int($0)] }
            precondition(!out.items.contains(-1), "split holds an item outside train")
            return out
        }
        return PreparedDataset(itemIds: trainRaw.map { rawItemIds[$0] },
                               train: remap(train), test: remap(test), trainTr: remap(trainTr), valid: remap(valid),
                               shardCount: options.shards)
    }

    /// Keeps events whose item passes `keepItem`, then sessions with >= minLength events.
    static func filterEvents(_ set: SessionSet, minLength: Int, keepItem: (Int32) -> Bool) -> SessionSet {
        var out = SessionSet()
        out.ids.reserveCapacity(set.count)
        out.offsets.reserveCapacity(set.count + 1)
        out.items.reserveCapacity(set.eventCount)
        out.types.reserveCapacity(set.eventCount)
        out.times.reserveCapacity(set.eventCount)
        for s in 0..<set.count {
            let before = out.items.count
            for e in set.range(of: s) where keepItem(set.items[e]) {
                out.items.append(set.items[e]); out.types.append(set.types[e]); out.times.append(set.times[e])
            }
            if out.items.count - before >= minLength {
                out.ids.append(set.ids[s])
                out.offsets.append(out.items.count)
            } else {
                out.items.removeLast(out.items.count - before)
                out.types.removeLast(out.types.count - before)
                out.times.removeLast(out.times.count - before)
            }
        }
        return out
    }

    /// Sessions ordered by (first event time, id): the natural replay order.
    static func sortedByStart(_ set: SessionSet) -> SessionSet {
        let order = (0..<set.count).sorted { a, b in
            let ta = set.times[set.offsets[a]], tb = set.times[set.offsets[b]]
            return ta != tb ? ta < tb : set.ids[a] < set.ids[b]
        }
        return set.subset(order)
    }

    /// (sessions ending before `cut`, sessions whose last event is at or after `cut`).
    static func splitByLastEvent(_ set: SessionSet, cut: Int64) -> (SessionSet, SessionSet) {
        var before: [Int] = [], after: [Int] = []
        for s in 0..<set.count {
            if set.times[set.offsets[s + 1] - 1] >= cut { after.append(s) } else { before.append(s) }
        }
        return (set.subset(before), set.subset(after))
    }

    /// Drops events whose item never occurs in `reference`, then sessions shorter than minLength.
    static func restrict(_ set: SessionSet, toItemsOf reference: SessionSet, itemSpace: Int, minLength: Int) -> SessionSet {
        var known = [Bool](repeating: false, count: itemSpace)
        for it in reference.items { known[Int(it)] = true }
        return filterEvents(set, minLength: minLength) { known[Int($0)] }
    }
}
