/// How bucket labels are spelled.
public enum BucketLabelMode: Sendable {
    /// A readable preview of the bucket's start key (the default).
    case keyPreview
    /// 16 hex digits of a hash of the start key, for deployments where key bytes are sensitive.
    /// The key range still appears in `keyviz_bucket_info`.
    case hashed
}
