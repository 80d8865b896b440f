import XCTest

// Tests of IRNCluster arrive with its code.
final class IRNClusterPlaceholderTests: XCTestCase {}
