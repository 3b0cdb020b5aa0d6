/// Why a route catalog, or a change to one, was rejected. Each case names the offending routes.
public enum RouteCatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case duplicateID(RouteID)
    case reservedID(RouteID)
    case emptyRange(Route)
    case overlap(Route, Route)
    case gap(Route, Route)
    case unknownRoute(RouteID)
    case splitKeyOutsideRoute(Route, key: [UInt8])
    case notAdjacent(Route, Route)
    case removalWouldLeaveGap(Route)

    public var description: String {
        switch self {
        case .empty:
            "route catalog is empty: at least one route is required"
        case .duplicateID(let id):
            "route id \(id) appears more than once"
        case .reservedID(let id):
            "route id \(id) is reserved or out of range (ids must be < \(RouteID.limit))"
        case .emptyRange(let r):
            "\(r) is empty: start must be before end"
        case .overlap(let a, let b):
            "\(a) overlaps \(b)"
        case .gap(let a, let b):
            "gap between \(a) and \(b): keys in between would have no route"
        case .unknownRoute(let id):
            "no route with id \(id) in the catalog"
        case .splitKeyOutsideRoute(let r, let key):
            "split key \(KeyPreview.render(key)) is not strictly inside \(r)"
        case .notAdjacent(let a, let b):
            "\(a) and \(b) are not adjacent in key order"
        case .removalWouldLeaveGap(let r):
            "removing \(r) would leave a gap: only the first or last route can be removed (merge instead)"
        }
    }
}
