import XCTest

// Tests of IRNBaselines arrive with its code.
final class IRNBaselinesPlaceholderTests: XCTestCase {}
