/// The heat matrix sampler's first name: it said where the matrix lives, not what it is.
@available(*, deprecated, renamed: "HeatMatrixSampler")
public typealias MemSampler = HeatMatrixSampler

@available(*, deprecated, renamed: "HeatMatrixSamplerConfiguration")
public typealias MemSamplerConfiguration = HeatMatrixSamplerConfiguration
