/// The calling thread's stripe, read once by the outermost decorator of a chain and handed to
/// the samplers it wraps (``Sampler/observe(route:op:key:valueLength:thread:)``), so a chain
/// reads thread-specific storage once per observation instead of once per layer.
///
/// Only KeyViz makes one (a host has no use for it): a sampler that receives it passes it on
/// or ignores it.
public struct CallingThread: Sendable {
    /// The thread's stripe number, unmasked (each table masks it to its own stripe count).
    @usableFromInline package let stripe: Int

    @inlinable package init(stripe: Int) {
        self.stripe = stripe
    }
}
