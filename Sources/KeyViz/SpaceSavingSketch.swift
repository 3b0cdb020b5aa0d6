/// A space-saving top-k sketch (Metwally, Agrawal, El Abbadi 2005) over items of type `Item`.
///
/// Keeps at most `capacity` counters. A tracked item's counter grows by its weight; an
/// untracked item replaces the smallest counter, inheriting its count as the item's possible
/// overcount (`error`). Guarantees: an item's true count lies in `[count - error, count]`,
/// every item whose true count exceeds `total / capacity` is tracked, and the sum of counts is
/// the total weight offered. Off the hot path: updates are O(capacity) when the sketch is full.
package struct SpaceSavingSketch<Item: Hashable & Sendable>: Sendable {
    package struct Entry: Sendable, Equatable {
        package var item: Item
        /// Estimated count: never below the true count.
        package var count: UInt64
        /// Possible overcount: the true count is at least `count - error`.
        package var error: UInt64
    }

    package let capacity: Int
    package private(set) var entries: [Entry] = []
    private var index: [Item: Int] = [:]
    /// Total weight offered since the sketch was made (decayed with it).
    package private(set) var total: UInt64 = 0

    package init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    package var isEmpty: Bool { entries.isEmpty }

    /// Counts `weight` more for `item`; returns the item that was evicted to make room, if any.
    @discardableResult
    package mutating func add(_ item: Item, weight: UInt64 = 1) -> Item? {
        total &+= weight
        if let i = index[item] {
            entries[i].count &+= weight
            return nil
        }
        if entries.count < capacity {
            index[item] = entries.count
            entries.append(Entry(item: item, count: weight, error: 0))
            return nil
        }
        var m = 0
        for i in entries.indices where entries[i].count < entries[m].count { m = i }
        let evicted = entries[m].item
        index[evicted] = nil
        let floor = entries[m].count
        entries[m] = Entry(item: item, count: floor &+ weight, error: floor)
        index[item] = m
        return evicted
    }

    /// The `k` largest entries, largest first (ties: smaller error first).
    package func top(_ k: Int) -> [Entry] {
        Array(entries.sorted { $0.count != $1.count ? $0.count > $1.count : $0.error < $1.error }.prefix(max(0, k)))
    }

    /// Halves every count, error and the total: older traffic weighs half as much each window.
    /// Entries that reach zero are dropped. The bounds keep holding for the halved true counts
    /// (up to one unit of rounding per halving).
    package mutating func halve() {
        total /= 2
        entries = entries.compactMap { e in
            e.count / 2 == 0 ? nil : Entry(item: e.item, count: e.count / 2, error: e.error / 2)
        }
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.item, $0) })
    }

    /// Stops tracking `item` (its weight stays in ``total``).
    package mutating func remove(_ item: Item) {
        guard let i = index.removeValue(forKey: item) else { return }
        let last = entries.count - 1
        if i != last {
            entries.swapAt(i, last)
            index[entries[i].item] = i
        }
        entries.removeLast()
    }

    /// Forgets everything.
    package mutating func reset() {
        entries.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        total = 0
    }
}
