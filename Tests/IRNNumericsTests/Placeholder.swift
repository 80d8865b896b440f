import XCTest

// Tests of IRNNumerics arrive with its code.
final class IRNNumericsPlaceholderTests: XCTestCase {}
