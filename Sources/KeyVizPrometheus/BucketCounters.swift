import KeyViz

/// The cumulative counters behind the bucket series, one per label of the current layout.
///
/// Counters only ever grow: per-route deltas are folded into the bucket that holds the route
/// now, never recomputed from member totals. When a layout change drops a label, its value is
/// kept among the *retired* labels (at most `retiredCapacity`, oldest forgotten first); if the
/// label comes back it continues from that value.
struct BucketCounters {
    private(set) var labels: [String] = []
    private(set) var values: [OpCounts] = []
    private var retired: [String: OpCounts] = [:]
    private var retiredOrder: [String] = []     // oldest first; may hold labels since revived
    private var retiredOrderHead = 0
    let retiredCapacity: Int

    init(retiredCapacity: Int) {
        self.retiredCapacity = max(0, retiredCapacity)
    }

    var retiredCount: Int { retired.count }

    /// Switches to a new list of labels (in layout order), carrying values by label.
    mutating func relabel(_ next: [String]) {
        var current: [String: OpCounts] = [:]
        current.reserveCapacity(labels.count)
        for (l, v) in zip(labels, values) { current[l] = v }
        var nextValues: [OpCounts] = []
        nextValues.reserveCapacity(next.count)
        for l in next {
            if let v = current.removeValue(forKey: l) {
                nextValues.append(v)
            } else if let v = retired.removeValue(forKey: l) {
                nextValues.append(v)
            } else {
                nextValues.append(.zero)
            }
        }
        for l in labels where current[l] != nil {   // left the layout
            retired[l] = current[l]
            retiredOrder.append(l)
        }
        while retired.count > retiredCapacity, retiredOrderHead < retiredOrder.count {
            let oldest = retiredOrder[retiredOrderHead]
            retiredOrderHead += 1
            retired[oldest] = nil
        }
        if retiredOrderHead > 1024 && retiredOrderHead * 2 > retiredOrder.count {
            retiredOrder = retiredOrder[retiredOrderHead...].filter { retired[$0] != nil }
            retiredOrderHead = 0
        }
        labels = next
        values = nextValues
    }

    mutating func add(_ delta: OpCounts, toBucket index: Int) {
        values[index] += delta
    }
}
